import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "../helpers/client";
import { startServer, type RunningServer } from "../helpers/server";

// The Responses API and Ollama's API on a supervised llama-server
// (ENGINE=llama-server) with the shipped demo model: a short smoke of each
// through the official clients (the in-process files cover the rest).

const fixture = (name: string) => fs.readFileSync(path.resolve(import.meta.dirname, "..", "fixtures", name));
const RED = `data:image/png;base64,${fixture("red-circle.png").toString("base64")}`;

describe("the Responses and Ollama APIs on llama-server", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-ls-apis-"));
  let server: RunningServer;
  let openai: OpenAI;
  let ollama: Ollama;
  let model: string;
  beforeAll(async () => {
    server = await startServer({ dataDir, env: { ENGINE: "llama-server", CONTEXT_SIZE: "2048", MAX_ANSWER_TOKENS: "256" } });
    const client = new TestClient(server.url);
    await client.newAccount();
    const { secret } = (await (await client.fetch("/api/keys", { method: "POST", json: { name: "apis" } })).json()) as { secret: string };
    openai = new OpenAI({ apiKey: secret, baseURL: `${server.url}/v1`, maxRetries: 0, timeout: 120_000 });
    ollama = new Ollama({ host: `${server.url}/ollama`, headers: { Authorization: `Bearer ${secret}` } });
    model = (await openai.models.list()).data[0]!.id;
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("answers responses.create with an input_image, and streams with responses.stream", async () => {
    const input: OpenAI.Responses.ResponseInput = [
      { role: "user", content: [{ type: "input_image", image_url: RED, detail: "auto" }, { type: "input_text", text: "What color is the circle?" }] },
    ];
    const r = await openai.responses.create({ model, temperature: 0, input });
    expect(r.status).toBe("completed");
    expect(r.output_text).toMatch(/\bred\b/);
    expect(r.usage!.input_tokens).toBeGreaterThan(36);

    const stream = openai.responses.stream({ model, temperature: 0, input });
    let deltas = "";
    for await (const e of stream) if (e.type === "response.output_text.delta") deltas += e.delta;
    const final = await stream.finalResponse();
    expect(final.output_text).toBe(deltas);
    expect(final.output_text).toMatch(/\bred\b/);
    expect(final.usage!.output_tokens).toBeGreaterThan(0);
  });

  it("streams an Ollama chat about an image, and generates", async () => {
    let text = "";
    let last;
    for await (const p of await ollama.chat({ model, stream: true, options: { temperature: 0 }, messages: [{ role: "user", content: "What color is the circle?", images: [new Uint8Array(fixture("red-circle.png"))] }] })) {
      text += p.message.content;
      last = p;
    }
    expect(text).toMatch(/\bred\b/);
    expect(last).toMatchObject({ done: true, done_reason: "stop" });
    expect(last!.prompt_eval_count).toBeGreaterThan(36);

    const g = await ollama.generate({ model: `${model}:latest`, stream: false, prompt: "What color is the circle?", images: [fixture("red-circle.png").toString("base64")], options: { temperature: 0 } });
    expect(g.response).toMatch(/\bred\b/);
    expect(g.eval_count).toBeGreaterThan(0);
  });
});
