import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { TestClient } from "../helpers/client";
import { databaseContains } from "../helpers/database";
import { startServer, type RunningServer } from "../helpers/server";

// The OpenAI-compatible API through the official `openai` package, against
// the real server, its database and the shipped demo model (which answers
// questions about simple shapes).

const baseUrl = inject("baseUrl");
const fixture = (name: string) => fs.readFileSync(path.resolve(import.meta.dirname, "..", "fixtures", name));
const dataUri = (name: string, type: string) => `data:${type};base64,${fixture(name).toString("base64")}`;
const RED = dataUri("red-circle.png", "image/png");

async function newKey(client: TestClient, body: Record<string, unknown> = { name: "test" }) {
  const res = await client.fetch("/api/keys", { method: "POST", json: body });
  expect(res.status).toBe(201);
  return (await res.json()) as { key: { id: string; name: string; prefix: string; expiresAt: string | null; lastUsedAt: string | null }; secret: string };
}

const openai = (apiKey: string) => new OpenAI({ apiKey, baseURL: `${baseUrl}/v1`, maxRetries: 0, timeout: 120_000 });

async function rawPost(secret: string, body: unknown) {
  const res = await fetch(`${baseUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as { error: { message: string; type: string; param: string | null; code: string | null } } };
}

describe("the OpenAI-compatible API", () => {
  const alice = new TestClient(baseUrl);
  const bob = new TestClient(baseUrl);
  let secret: string;
  let model: string;
  beforeAll(async () => {
    await alice.newAccount();
    await bob.newAccount();
    secret = (await newKey(alice)).secret;
    model = (await openai(secret).models.list()).data[0]!.id;
  });

  it("creates, lists and revokes keys; the secret is shown once and only its hash is stored", async () => {
    const created = await newKey(alice, { name: "laptop", expiresAt: new Date(Date.now() + 86_400_000).toISOString() });
    expect(created.secret).toMatch(/^lvc-[A-Za-z0-9_-]{40,}$/);
    expect(created.secret.startsWith(created.key.prefix)).toBe(true);
    const listed = (await (await alice.fetch("/api/keys")).json()) as { keys: Record<string, unknown>[] };
    const mine = listed.keys.find((k) => k.id === created.key.id)!;
    expect(mine).toMatchObject({ name: "laptop", prefix: created.key.prefix });
    expect(JSON.stringify(listed)).not.toContain(created.secret);
    expect(Object.keys(mine).sort()).toEqual(["createdAt", "expiresAt", "id", "lastUsedAt", "name", "prefix", "tokensPerMinute", "usage"]);
    // Bob cannot see or revoke Alice's key.
    expect(((await (await bob.fetch("/api/keys")).json()) as { keys: unknown[] }).keys).toEqual([]);
    expect((await bob.fetch(`/api/keys/${created.key.id}`, { method: "DELETE" })).status).toBe(404);
    expect((await alice.fetch(`/api/keys/${created.key.id}`, { method: "DELETE" })).status).toBe(204);
    expect(((await (await alice.fetch("/api/keys")).json()) as { keys: { id: string }[] }).keys.map((k) => k.id)).not.toContain(created.key.id);
    // Without a session, the key routes are closed; a cross-site text/plain POST cannot create one.
    expect((await new TestClient(baseUrl).fetch("/api/keys")).status).toBe(401);
    const plain = await alice.fetch("/api/keys", { method: "POST", headers: { "content-type": "text/plain" }, body: JSON.stringify({ name: "csrf" }) });
    expect(plain.status).toBe(415);
  });

  it("lists the model", async () => {
    const list = await openai(secret).models.list();
    // The chat model first; the image generator, when one runs, after it (imagegen-*.test.ts).
    const chatModels = list.data.filter((m) => !(m as { output_modalities?: string[] }).output_modalities?.includes("image"));
    expect(chatModels).toHaveLength(1);
    expect(list.data[0]).toMatchObject({ id: model, object: "model", owned_by: "local" });
  });

  it("answers an image sent as a data: URI, without streaming", async () => {
    const r = await openai(secret).chat.completions.create({
      model,
      temperature: 0,
      messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: RED } }, { type: "text", text: "What color is the circle?" }] }],
    });
    expect(r.object).toBe("chat.completion");
    expect(r.choices[0]!.message.content).toMatch(/\bred\b/);
    expect(r.choices[0]!.finish_reason).toBe("stop");
    expect(r.usage!.prompt_tokens).toBeGreaterThan(36);
    expect(r.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it("streams an answer with usage at the end", async () => {
    const stream = await openai(secret).chat.completions.create({
      model,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: dataUri("blue-square.jpg", "image/jpeg") } }, { type: "text", text: "What color is the square?" }] }],
    });
    let text = "";
    let chunks = 0;
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const c of stream) {
      chunks++;
      text += c.choices[0]?.delta.content ?? "";
      finish = c.choices[0]?.finish_reason ?? finish;
      if (c.usage) usage = c.usage;
    }
    expect(chunks).toBeGreaterThan(3);
    expect(text).toMatch(/\bblue\b/);
    expect(finish).toBe("stop");
    expect(usage!.completion_tokens).toBeGreaterThan(0);
  });

  it("answers turn 3 of a conversation about the image from turn 1 without encoding it again", async () => {
    const client = openai(secret);
    const history: OpenAI.ChatCompletionMessageParam[] = [
      { role: "user", content: [{ type: "image_url", image_url: { url: RED } }, { type: "text", text: "What shape is red?" }] },
    ];
    const t1 = await client.chat.completions.create({ model, temperature: 0, messages: history });
    expect(t1.choices[0]!.message.content).toMatch(/circle/);
    history.push({ role: "assistant", content: t1.choices[0]!.message.content }, { role: "user", content: "Thank you!" });
    const t2 = await client.chat.completions.create({ model, temperature: 0, messages: history });
    history.push({ role: "assistant", content: t2.choices[0]!.message.content }, { role: "user", content: "What color is the circle?" });
    const t3 = await client.chat.completions.create({ model, temperature: 0, messages: history });
    expect(t3.choices[0]!.message.content).toMatch(/\bred\b/);
    // Turn 3 reused everything up to its new question, the image's tokens included.
    expect(t3.usage!.prompt_tokens_details!.cached_tokens).toBeGreaterThanOrEqual(t2.usage!.prompt_tokens);
  });

  it("refuses a bad, a revoked and an expired key with 401 in OpenAI's error shape", async () => {
    const revoked = await newKey(alice, { name: "old" });
    expect((await alice.fetch(`/api/keys/${revoked.key.id}`, { method: "DELETE" })).status).toBe(204);
    const expiring = await newKey(alice, { name: "short", expiresAt: new Date(Date.now() + 1500).toISOString() });
    expect((await openai(expiring.secret).models.list()).data[0]!.id).toBe(model);
    await new Promise((r) => setTimeout(r, 1600));
    for (const [key, why] of [
      ["lvc-not-a-real-key", /Invalid API key/],
      [revoked.secret, /revoked/],
      [expiring.secret, /expired/],
    ] as const) {
      const r = await rawPost(key, { model, messages: [{ role: "user", content: "hi" }] });
      expect(r.status).toBe(401);
      expect(r.body.error).toMatchObject({ type: "authentication_error", code: "invalid_api_key", param: null, message: expect.stringMatching(why) });
      await expect(openai(key).models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    }
  });

  it("refuses another user's upload (404), remote URLs (400) and what it cannot do (400 naming the parameter)", async () => {
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(fixture("red-circle.png"))], { type: "image/png" }), "red-circle.png");
    const bobsUpload = ((await (await bob.fetch("/api/uploads", { method: "POST", body: form })).json()) as { attachment: { url: string } }).attachment.url;
    const ask = (url: string) => rawPost(secret, { model, messages: [{ role: "user", content: [{ type: "image_url", image_url: { url } }, { type: "text", text: "?" }] }] });

    const other = await ask(bobsUpload);
    expect(other.status).toBe(404);
    expect(other.body.error).toMatchObject({ param: "messages.0.content.0.image_url.url", code: "image_not_found" });
    for (const url of ["https://example.com/cat.png", "file:///etc/passwd", "/etc/passwd", "http://127.0.0.1:3000/api/uploads/x"]) {
      const r = await ask(url);
      expect(r.status, url).toBe(400);
      expect(r.body.error.message).toMatch(/never fetched/);
    }
    expect((await ask("data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==")).status).toBe(400); // truncated PNG
    // Over the upload limit (2 MiB on the test server): refused before decoding.
    const huge = await ask(`data:image/png;base64,${Buffer.alloc(3 * 1024 * 1024, 7).toString("base64")}`);
    expect(huge.status).toBe(413);
    expect(huge.body.error).toMatchObject({ type: "invalid_request_error", code: "image_too_large" });
    expect((await ask(`data:image/svg+xml;base64,${Buffer.from("<svg xmlns='http://www.w3.org/2000/svg'/>").toString("base64")}`)).status).toBe(415);

    // n, tools, response_format and logprobs are served now (openai-structured.test.ts); beyond their limits, 400s.
    const n = await rawPost(secret, { model, n: 5, messages: [{ role: "user", content: "hi" }] });
    expect(n.status).toBe(400);
    expect(n.body.error).toMatchObject({ type: "invalid_request_error", param: "n" });
    const tools = await rawPost(secret, { model, tools: [{ type: "function", function: { name: "f" } }], tool_choice: { type: "function", function: { name: "g" } }, messages: [{ role: "user", content: "hi" }] });
    expect(tools.body.error).toMatchObject({ param: "tool_choice" });
    const wrongModel = await rawPost(secret, { model: "gpt-4o", messages: [{ role: "user", content: "hi" }] });
    expect(wrongModel.status).toBe(404);
    expect(wrongModel.body.error).toMatchObject({ code: "model_not_found", param: "model" });
    const bad = await rawPost(secret, { model, temperature: 7, messages: [{ role: "user", content: "hi" }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe("temperature");
  });

  it("honours max_tokens and stop sequences", async () => {
    const client = openai(secret);
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: [{ type: "image_url", image_url: { url: RED } }, { type: "text", text: "Describe the image." }] }];
    const full = (await client.chat.completions.create({ model, temperature: 0, messages })).choices[0]!.message.content!;
    const short = await client.chat.completions.create({ model, temperature: 0, max_tokens: 2, messages });
    expect(short.choices[0]!.finish_reason).toBe("length");
    expect(short.usage!.completion_tokens).toBe(2);
    const word = full.split(" ")[2]!;
    const stopped = await client.chat.completions.create({ model, temperature: 0, stop: [word], messages });
    expect(stopped.choices[0]!.finish_reason).toBe("stop");
    expect(stopped.choices[0]!.message.content).toBe(full.slice(0, full.indexOf(word)));
  });

  it("completes 10 concurrent streams, or refuses some with 503 and Retry-After", async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const res = await fetch(`${baseUrl}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${secret}`, "content-type": "application/json", "accept-encoding": "gzip, br" },
          body: JSON.stringify({ model, stream: true, temperature: 0, messages: [{ role: "user", content: `Question ${i}: how many shapes are there?` }] }),
        });
        if (res.status === 503) return { status: 503, retryAfter: res.headers.get("retry-after"), text: "" };
        // Never compressed, even when the client would take it: a compressor holds tokens back.
        expect(res.headers.get("content-encoding")).toBeNull();
        return { status: res.status, retryAfter: null, text: await res.text() };
      }),
    );
    for (const r of results) {
      if (r.status === 503) expect(Number(r.retryAfter)).toBeGreaterThan(0);
      else {
        expect(r.status).toBe(200);
        expect(r.text.trimEnd().endsWith("data: [DONE]")).toBe(true);
        expect(r.text).toContain('"finish_reason":"stop"');
      }
    }
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThan(0);
  });

  it("store: true keeps the exchange as a conversation in the key owner's history", async () => {
    const r = await openai(secret).chat.completions.create({
      model,
      temperature: 0,
      store: true,
      messages: [
        { role: "system", content: "You answer about shapes." },
        { role: "user", content: [{ type: "image_url", image_url: { url: RED } }, { type: "text", text: "Which shape is in the picture?" }] },
      ],
    });
    const list = (await (await alice.fetch("/api/conversations")).json()) as { conversations: { id: string; title: string }[] };
    const saved = list.conversations.find((c) => c.title === "Which shape is in the picture?")!;
    expect(saved).toBeDefined();
    const conv = (await (await alice.fetch(`/api/conversations/${saved.id}`)).json()) as {
      conversation: { systemPrompt: string; messages: { role: string; parts: { type: string; text?: string }[] }[] };
    };
    expect(conv.conversation.systemPrompt).toBe("You answer about shapes.");
    expect(conv.conversation.messages.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect(conv.conversation.messages[0]!.parts.map((p) => p.type)).toEqual(["image", "text"]);
    expect(conv.conversation.messages[1]!.parts[0]!.text).toBe(r.choices[0]!.message.content);
    // Without store, nothing is added.
    const before = list.conversations.length;
    await openai(secret).chat.completions.create({ model, temperature: 0, messages: [{ role: "user", content: "Not kept." }] });
    const after = (await (await alice.fetch("/api/conversations")).json()) as { conversations: unknown[] };
    expect(after.conversations.length).toBe(before);
  });
});

describe("API keys on a server of their own", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-keys-"));
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ dataDir, env: { API_RATE_LIMIT_PER_MINUTE: "4" } });
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("never writes a secret to the log or the database, and limits requests per key with 429 + Retry-After", async () => {
    const client = new TestClient(server.url);
    await client.newAccount();
    const { secret } = await newKey(client, { name: "grep me" });
    const api = new OpenAI({ apiKey: secret, baseURL: `${server.url}/v1`, maxRetries: 0 });
    const model = (await api.models.list()).data[0]!.id;
    await api.chat.completions.create({ model, temperature: 0, max_tokens: 4, messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: RED } }, { type: "text", text: "Colour?" }] }] });
    // A rejected key is not logged either.
    await fetch(`${server.url}/v1/models`, { headers: { authorization: "Bearer lvc-wrong-secret-in-log" } });
    const limited = [];
    for (let i = 0; i < 3; i++) limited.push(await fetch(`${server.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } }));
    const last = limited.at(-1)!;
    expect(last.status).toBe(429);
    expect(Number(last.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await last.json()) as { error: { type: string } }).error.type).toBe("rate_limit_error");

    expect(await databaseContains(dataDir, secret)).toBe(false);
    expect(await databaseContains(dataDir, secret.slice(10))).toBe(false);
    expect(server.output()).not.toContain(secret.slice(10));
    expect(server.output()).not.toContain("lvc-wrong-secret-in-log");
  });
});
