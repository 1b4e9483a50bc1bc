import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "@/lib/engine/engine";
import { EngineError } from "@/lib/engine/errors";
import { drain } from "../helpers/engine";

// The remote engine when its servers are full: an OpenAI-compatible server
// on loopback that answers 503 + Retry-After while "busy". A busy server is
// waited for (it works, it is only full), and saturation past the wait is a
// "busy" before anything is written, never an empty answer. Before, a 503
// took the server out of rotation as if it were down, and every server
// being busy became an answer with no text and an error.

let busyFor = 0;
let resetNext = 0;
let asked = 0;
const server = http.createServer((req, res) => {
  if (req.url === "/v1/models") return void res.end(JSON.stringify({ data: [{ id: "fake" }] }));
  if (req.url === "/props") return void res.end(JSON.stringify({ modalities: { vision: false } }));
  asked++;
  if (resetNext > 0) {
    // As a server's keep-alive timer closing the socket just as the request arrives.
    resetNext--;
    return void req.socket.destroy();
  }
  if (busyFor > 0) {
    busyFor--;
    res.writeHead(503, { "retry-after": "1", "content-type": "application/json" });
    return void res.end(JSON.stringify({ error: { message: "busy" } }));
  }
  res.writeHead(200, { "content-type": "text/event-stream" });
  res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: "Hello" } }] })}\n\n`);
  res.write(`data: ${JSON.stringify({ choices: [{ delta: {}, finish_reason: "stop" }], usage: { prompt_tokens: 3, completion_tokens: 1 } })}\n\n`);
  res.end("data: [DONE]\n\n");
});
let engine: Engine;

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-remote-busy-"));
  engine = await Engine.load({ engine: "remote", remote: { urls: [`http://127.0.0.1:${port}`] }, gpu: "cpu", gpuLayers: 0, contextSize: 2048, threads: 1, slots: 4, queueLimit: 4, cacheDir });
});
afterAll(async () => {
  await engine?.dispose();
  server.close();
});

describe("the remote engine when its servers are full", () => {
  it("waits for a server that answers 503 and then answers", async () => {
    busyFor = 2;
    asked = 0;
    const started = Date.now();
    const { text, usage } = await drain(engine, { messages: [{ role: "user", text: "Hi" }], maxTokens: 8, sampling: { temperature: 0 } });
    expect(text).toBe("Hello");
    expect(usage.finishReason).toBe("stop");
    expect(asked).toBe(3);
    // It waited as told (Retry-After: 1) between the tries.
    expect(Date.now() - started).toBeGreaterThan(1500);
    expect(engine.status().servers![0]!.up).toBe(true);
  });

  it("sends a request again to the same server when its connection is reset before any answer, and keeps it in rotation", async () => {
    resetNext = 1;
    asked = 0;
    const { text, usage } = await drain(engine, { messages: [{ role: "user", text: "Hi" }], maxTokens: 8, sampling: { temperature: 0 } });
    expect(text).toBe("Hello");
    expect(usage.finishReason).toBe("stop");
    expect(asked).toBe(2);
    expect(engine.status().servers![0]!.up).toBe(true);
  });

  it("says busy (queue_full, with Retry-After) before writing anything when the servers stay full", async () => {
    busyFor = 1000;
    const events = engine.generate({ messages: [{ role: "user", text: "Hi" }], maxTokens: 8, sampling: { temperature: 0 } });
    const err = await events.next().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).code).toBe("queue_full");
    expect((err as EngineError).retryAfterSeconds).toBeGreaterThan(0);
    busyFor = 0;
  }, 60_000);
});
