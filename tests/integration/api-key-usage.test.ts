import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { TestClient } from "../helpers/client";

// Per-key usage and tokens-per-minute caps (issue 27, item 6), against the
// real server, its database and the demo model. Answers are kept short
// (max_tokens) so the file stays quick.

const baseUrl = inject("baseUrl");
const RED = `data:image/png;base64,${fs.readFileSync(path.resolve(import.meta.dirname, "..", "fixtures", "red-circle.png")).toString("base64")}`;

interface Totals {
  promptTokens: number;
  completionTokens: number;
  images: number;
  requests: number;
}
interface Key {
  id: string;
  name: string;
  tokensPerMinute: number | null;
  usage: { today: Totals; last7Days: Totals; days: (Totals & { day: string })[] };
}
interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
}

async function newKey(client: TestClient, body: Record<string, unknown>) {
  const res = await client.fetch("/api/keys", { method: "POST", json: body });
  expect(res.status).toBe(201);
  return (await res.json()) as { key: Key; secret: string };
}

async function listed(client: TestClient, id: string): Promise<Key> {
  const { keys } = (await (await client.fetch("/api/keys")).json()) as { keys: Key[] };
  return keys.find((k) => k.id === id)!;
}

async function chat(secret: string, model: string, content: unknown) {
  const res = await fetch(`${baseUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: JSON.stringify({ model, temperature: 0, max_tokens: 6, messages: [{ role: "user", content }] }),
  });
  return { status: res.status, retryAfter: res.headers.get("retry-after"), body: (await res.json()) as { usage: Usage; error: { message: string; type: string; code: string } } };
}

describe("per-key usage and limits", () => {
  const alice = new TestClient(baseUrl);
  const bob = new TestClient(baseUrl);
  let model: string;
  beforeAll(async () => {
    await alice.newAccount();
    await bob.newAccount();
  });

  it("counts each answer's prompt and completion tokens, images and requests on the key's row for today", async () => {
    const { key, secret } = await newKey(alice, { name: "counted" });
    expect(key.tokensPerMinute).toBeNull();
    model = ((await (await fetch(`${baseUrl}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).json()) as { data: { id: string }[] }).data[0]!.id;
    expect((await listed(alice, key.id)).usage.today).toEqual({ promptTokens: 0, completionTokens: 0, images: 0, requests: 0 });

    // At once, so both may write the day's first row together (the upsert adds, never loses one).
    const [a, b] = await Promise.all([
      chat(secret, model, [{ type: "image_url", image_url: { url: RED } }, { type: "text", text: "What color is the circle?" }]),
      chat(secret, model, "What shape is red?"),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const want = {
      promptTokens: a.body.usage.prompt_tokens + b.body.usage.prompt_tokens,
      completionTokens: a.body.usage.completion_tokens + b.body.usage.completion_tokens,
      images: 1,
      requests: 2,
    };
    expect(want.completionTokens).toBeGreaterThan(0);
    const usage = (await listed(alice, key.id)).usage;
    expect(usage.today).toEqual(want);
    expect(usage.last7Days).toEqual(want);
    expect(usage.days).toEqual([{ day: new Date().toISOString().slice(0, 10), ...want }]);
  });

  it("counts /v1/embeddings too: its prompt tokens and images, no completion tokens", async () => {
    const { key, secret } = await newKey(alice, { name: "embedder" });
    const res = await fetch(`${baseUrl}/v1/embeddings`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "clip", input: ["a red circle", RED] }),
    });
    expect(res.status).toBe(200);
    const { usage } = (await res.json()) as { usage: { prompt_tokens: number } };
    expect((await listed(alice, key.id)).usage.today).toEqual({ promptTokens: usage.prompt_tokens, completionTokens: 0, images: 1, requests: 1 });
  });

  it("meters /v1/responses and Ollama's chat, generate and embed the same way", async () => {
    const { key, secret } = await newKey(alice, { name: "other routes" });
    const post = (path: string, body: unknown) =>
      fetch(`${baseUrl}${path}`, { method: "POST", headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    const responses = await post("/v1/responses", { model, input: "What shape is red?", max_output_tokens: 6, temperature: 0 });
    expect(responses.status).toBe(200);
    const r = (await responses.json()) as { usage: { input_tokens: number; output_tokens: number } };
    const ollama = await post("/ollama/api/chat", { model, stream: false, messages: [{ role: "user", content: "What shape is blue?" }], options: { num_predict: 6, temperature: 0 } });
    expect(ollama.status).toBe(200);
    const o = (await ollama.json()) as { prompt_eval_count: number; eval_count: number };
    expect((await listed(alice, key.id)).usage.today).toEqual({
      promptTokens: r.usage.input_tokens + o.prompt_eval_count,
      completionTokens: r.usage.output_tokens + o.eval_count,
      images: 0,
      requests: 2,
    });
    // Capped at 1 token a minute (tokens are counted only while a key has a cap: one embedding spends the minute),
    // every answering route refuses the key before any work.
    expect((await alice.fetch(`/api/keys/${key.id}`, { method: "PATCH", json: { tokensPerMinute: 1 } })).status).toBe(200);
    expect((await post("/v1/embeddings", { model: "clip", input: "a red circle" })).status).toBe(200);
    for (const [path, body] of [
      ["/v1/responses", { model, input: "hi" }],
      ["/ollama/api/chat", { model, messages: [{ role: "user", content: "hi" }] }],
      ["/ollama/api/generate", { model, prompt: "hi" }],
      ["/ollama/api/embed", { model: "shapes-clip", input: "hi" }],
      ["/ollama/api/embeddings", { model: "shapes-clip", prompt: "hi" }],
      ["/ollama/v1/chat/completions", { model, messages: [{ role: "user", content: "hi" }] }],
    ] as const) {
      const res = await post(path, body);
      expect(res.status, path).toBe(429);
      expect(Number(res.headers.get("retry-after")), path).toBeGreaterThanOrEqual(1);
    }
  });

  it("refuses a capped key with OpenAI's 429 and Retry-After once it spent its minute, leaves the user's other keys alone, and PATCH changes the cap", async () => {
    const capped = await newKey(alice, { name: "capped", tokensPerMinute: 10 });
    const other = await newKey(alice, { name: "other" });
    expect(capped.key.tokensPerMinute).toBe(10);

    // Admitted (nothing spent yet), then over: the demo model's image prompt alone is more than 10 tokens.
    const first = await chat(capped.secret, model, [{ type: "image_url", image_url: { url: RED } }, { type: "text", text: "What color is the circle?" }]);
    expect(first.status).toBe(200);
    const refused = await chat(capped.secret, model, "What shape is red?");
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ type: "rate_limit_error", code: "rate_limited_tokens" });
    expect(refused.body.error.message).toMatch(/10 tokens per minute/);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
    // The refused request is not counted; the user's other key is not capped by this one.
    expect((await listed(alice, capped.key.id)).usage.today.requests).toBe(1);
    expect((await chat(other.secret, model, "What shape is red?")).status).toBe(200);

    // Raising the cap admits the key again at once (the minute's count stays, under the new cap).
    const patch = (client: TestClient, body: unknown) => client.fetch(`/api/keys/${capped.key.id}`, { method: "PATCH", json: body });
    const raised = await patch(alice, { tokensPerMinute: 100_000 });
    expect(raised.status).toBe(200);
    expect(((await raised.json()) as { key: Key }).key).toMatchObject({ id: capped.key.id, tokensPerMinute: 100_000 });
    expect((await chat(capped.secret, model, "What shape is red?")).status).toBe(200);
    expect((await patch(alice, { tokensPerMinute: null })).status).toBe(200);
    expect((await listed(alice, capped.key.id)).tokensPerMinute).toBeNull();

    // The cap is a positive whole number up to 10 000 000, or null.
    for (const bad of [0, -5, 1.5, 10_000_001, "100"]) {
      const res = await patch(alice, { tokensPerMinute: bad });
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/^tokensPerMinute/);
    }
    expect((await patch(alice, {})).status).toBe(400);
    expect((await alice.fetch("/api/keys", { method: "POST", json: { name: "bad cap", tokensPerMinute: 0 } })).status).toBe(400);
  });

  it("another user can neither read nor change a key's usage or cap (404)", async () => {
    const { key } = await newKey(alice, { name: "private", tokensPerMinute: 50 });
    const own = await alice.fetch(`/api/keys/${key.id}`);
    expect(own.status).toBe(200);
    expect(((await own.json()) as { key: Key }).key).toMatchObject({ id: key.id, tokensPerMinute: 50, usage: { today: { requests: 0 } } });
    expect((await bob.fetch(`/api/keys/${key.id}`)).status).toBe(404);
    expect((await bob.fetch(`/api/keys/${key.id}`, { method: "PATCH", json: { tokensPerMinute: null } })).status).toBe(404);
    expect(((await (await bob.fetch("/api/keys")).json()) as { keys: unknown[] }).keys).toEqual([]);
    expect((await listed(alice, key.id)).tokensPerMinute).toBe(50);
    // Without a session, closed.
    expect((await new TestClient(baseUrl).fetch(`/api/keys/${key.id}`)).status).toBe(401);
  });
});
