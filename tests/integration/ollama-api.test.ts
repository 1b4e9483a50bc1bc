import fs from "node:fs";
import path from "node:path";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { TestClient } from "../helpers/client";

// Ollama's API under /ollama through the official `ollama` npm client,
// against the shared app and the shipped demo model (which answers
// questions about simple shapes). One account, one key.

const baseUrl = inject("baseUrl");
const fixture = (name: string) => new Uint8Array(fs.readFileSync(path.resolve(import.meta.dirname, "..", "fixtures", name)));
const RED = fixture("red-circle.png");
const BLUE = fixture("blue-square.jpg");

describe("Ollama's API", () => {
  let ollama: Ollama;
  let secret: string;
  let model: string;
  beforeAll(async () => {
    const alice = new TestClient(baseUrl);
    await alice.newAccount();
    secret = ((await (await alice.fetch("/api/keys", { method: "POST", json: { name: "ollama" } })).json()) as { secret: string }).secret;
    ollama = new Ollama({ host: `${baseUrl}/ollama`, headers: { Authorization: `Bearer ${secret}` } });
    model = (await ollama.list()).models[0]!.name;
  });

  const post = (route: string, body: unknown, key: string | null = secret) =>
    fetch(`${baseUrl}/ollama/api/${route}`, { method: "POST", headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) }, body: JSON.stringify(body) });

  it("answers like Ollama at its root, and lists, shows and reports the model", async () => {
    const root = await fetch(`${baseUrl}/ollama`);
    expect(await root.text()).toBe("Ollama is running");
    expect((await fetch(`${baseUrl}/ollama`, { method: "HEAD" })).status).toBe(200);

    const { models } = await ollama.list();
    expect(models.map((m) => m.name)).toEqual([model, "shapes-clip:latest"]);
    expect(model).toMatch(/:latest$/);
    expect(models[0]!.details.format).toBe("gguf");
    expect(models[0]!.size).toBeGreaterThan(0);

    const show = await ollama.show({ model });
    expect(show.capabilities).toEqual(expect.arrayContaining(["completion", "vision", "tools"]));
    expect(show.capabilities).not.toContain("embedding");
    expect((await ollama.show({ model: "shapes-clip" })).capabilities).toEqual(["embedding"]);

    // OpenAI's API under the Ollama address, as Ollama serves it.
    const openai = new OpenAI({ apiKey: secret, baseURL: `${baseUrl}/ollama/v1`, maxRetries: 0 });
    expect((await openai.models.list()).data[0]!.id).toBe(model.replace(/:latest$/, ""));

    const ps = await ollama.ps();
    expect(ps.models[0]).toMatchObject({ name: model });
    expect((await ollama.version()).version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("chats about an image without streaming, with Ollama's counts and durations", async () => {
    const r = await ollama.chat({ model, stream: false, options: { temperature: 0 }, messages: [{ role: "user", content: "What color is the circle?", images: [RED] }] });
    expect(r.message.role).toBe("assistant");
    expect(r.message.content).toMatch(/\bred\b/);
    expect(r).toMatchObject({ model, done: true, done_reason: "stop" });
    expect(r.prompt_eval_count).toBeGreaterThan(36); // the image's tokens are counted
    expect(r.eval_count).toBeGreaterThan(0);
    expect(r.eval_duration).toBeGreaterThan(0);
    expect(r.total_duration).toBeGreaterThanOrEqual(r.prompt_eval_duration + r.eval_duration);
  });

  it("streams a chat about an image as NDJSON, ending with the counts", async () => {
    const parts = [];
    for await (const p of await ollama.chat({ model, stream: true, options: { temperature: 0 }, messages: [{ role: "user", content: "What color is the square?", images: [BLUE] }] })) parts.push(p);
    expect(parts.length).toBeGreaterThan(3);
    expect(parts.slice(0, -1).every((p) => !p.done)).toBe(true);
    const last = parts.at(-1)!;
    expect(last).toMatchObject({ done: true, done_reason: "stop", message: { role: "assistant", content: "" } });
    expect(last.eval_count).toBeGreaterThan(0);
    expect(parts.map((p) => p.message.content).join("")).toMatch(/\bblue\b/);
  });

  it("generates from a prompt and an image; num_predict caps the answer", async () => {
    const r = await ollama.generate({ model, stream: false, prompt: "What color is the circle?", images: [RED], options: { temperature: 0 } });
    expect(r.response).toMatch(/\bred\b/);
    expect(r.done).toBe(true);
    const cut = await ollama.generate({ model, stream: false, prompt: "Describe the picture in detail.", images: [RED], options: { temperature: 0, num_predict: 2 } });
    expect(cut).toMatchObject({ done_reason: "length", eval_count: 2 });
    // An empty prompt only loads the model, as Ollama's clients use it.
    expect(await ollama.generate({ model, prompt: "", stream: false })).toMatchObject({ done: true, done_reason: "load", response: "" });
  });

  it("follows format (a JSON schema) with an image, and takes tool calls and results in the history", async () => {
    const colours = ["red", "green", "blue", "yellow", "purple", "orange"];
    const format = { type: "object", properties: { color: { type: "string", enum: colours } }, required: ["color"], additionalProperties: false };
    const r = await ollama.chat({ model, stream: false, format, options: { temperature: 0 }, messages: [{ role: "user", content: "What color is the circle?", images: [RED] }] });
    const value = JSON.parse(r.message.content) as { color: string };
    expect(Object.keys(value)).toEqual(["color"]);
    expect(colours).toContain(value.color);

    const question = { role: "user", content: "What is in the image?", images: [RED] };
    const plain = await ollama.chat({ model, stream: false, options: { temperature: 0, num_predict: 4 }, messages: [question] });
    const later = await ollama.chat({
      model,
      stream: false,
      options: { temperature: 0, num_predict: 4 },
      messages: [question, { role: "assistant", content: "", tool_calls: [{ function: { name: "record_shape", arguments: { shape: "circle", color: "red" } } }] }, { role: "tool", content: "Recorded.", tool_name: "record_shape" }],
    });
    expect(later.done).toBe(true);
    expect(later.prompt_eval_count).toBeGreaterThan(plain.prompt_eval_count + 5); // the call and its result are in the prompt
  });

  it("embeds texts with the CLIP model", async () => {
    const r = await ollama.embed({ model: "shapes-clip", input: ["a red circle", "a blue square"] });
    expect(r.embeddings).toHaveLength(2);
    const [a, b] = r.embeddings as [number[], number[]];
    expect(Math.hypot(...a)).toBeCloseTo(1, 3);
    expect(a.length).toBe(b.length);
    // The older /api/embeddings: one text, the same vector.
    const legacy = await ollama.embeddings({ model: "shapes-clip:latest", prompt: "a red circle" });
    expect(legacy.embedding).toHaveLength(a.length);
    expect(legacy.embedding[0]).toBeCloseTo(a[0]!, 5);
  });

  it("refuses model management, unknown models and bad requests in Ollama's shape", async () => {
    await expect(ollama.pull({ model: "llava" })).rejects.toMatchObject({ status_code: 403, error: expect.stringContaining("pull is not available here") });
    const del = await fetch(`${baseUrl}/ollama/api/delete`, { method: "DELETE", headers: { authorization: `Bearer ${secret}` }, body: JSON.stringify({ model }) });
    expect(del.status).toBe(403);
    expect(await del.json()).toEqual({ error: expect.stringContaining("cannot be deleted") });

    // Without a key, every API route is a 401 (the client shows the message).
    const anonymous = new Ollama({ host: `${baseUrl}/ollama` });
    await expect(anonymous.chat({ model, messages: [{ role: "user", content: "Hi" }] })).rejects.toMatchObject({ status_code: 401, error: expect.stringContaining("Missing API key") });
    await expect(anonymous.list()).rejects.toMatchObject({ status_code: 401 });

    const refused = async (route: string, body: unknown, status = 400) => {
      const res = await post(route, body);
      expect(res.status).toBe(status);
      const json = (await res.json()) as { error: string };
      expect(Object.keys(json)).toEqual(["error"]);
      return json.error;
    };
    expect(await refused("chat", { model: "llava:7b", messages: [{ role: "user", content: "Hi" }] }, 404)).toContain("model 'llava:7b' not found");
    expect(await refused("chat", { model, messages: [{ role: "user", content: "Hi" }], options: { temperature: 5 } })).toMatch(/^options\.temperature: /);
    expect(await refused("chat", { model, messages: [{ role: "user", content: "What is it?", images: ["not base64!"] }] })).toBe("messages.0.images: The data: URI is not valid base64.");
    expect(await refused("chat", { model, messages: [{ role: "user", content: "Hi" }], format: { type: "object", properties: { n: { type: "number", multipleOf: 2 } } } })).toBe(
      "format: The schema uses what llama.cpp's grammar cannot enforce: multipleOf at /properties/n.",
    );
    expect(await refused("generate", { model, prompt: "def f(", suffix: "return x" })).toBe("suffix (fill-in-the-middle) is not supported by this server.");
    expect(await refused("embed", { model, input: "a circle" }, 404)).toContain("embeddings come from 'shapes-clip:latest'");
  });
});
