import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "@/lib/engine/engine";
import { drain } from "../helpers/engine";
import { startServer, type RunningServer } from "../helpers/server";
import { colourSchema, COLOURS, openAiClient, structuredCases } from "../helpers/openai-structured-cases";

// Issue #27's structured output, tools, logprobs and n on a supervised llama-server (its native
// /completion with json_schema and n_probs), with the shipped demo model: the cases
// openai-structured.test.ts runs in-process. One app, one llama-server.

const root = path.resolve(import.meta.dirname, "..", "..");

describe("structured output, tools, logprobs and n on llama-server", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-structured-ls-"));
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      dataDir,
      env: {
        ENGINE: "llama-server",
        MODEL_PATH: path.join(root, "models/tiny/mini-llava-shapes.gguf"),
        MMPROJ_PATH: path.join(root, "models/tiny/mmproj-mini-llava-shapes.gguf"),
        PARALLEL_SLOTS: "2",
      },
    });
    for (let i = 0; i < 600; i++) {
      const health = (await (await fetch(`${server.url}/api/health`)).json()) as { model: { status: string } };
      if (health.model.status === "ready") break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  structuredCases(() => server.url, { canonicalTokens: true });

  it("the remote engine passes the schema and logprobs on (here to this app's own /v1)", async () => {
    const { secret } = await openAiClient(server.url);
    const engine = await Engine.load({
      engine: "remote",
      remote: { urls: [server.url], apiKey: secret },
      gpu: "cpu",
      gpuLayers: 0,
      contextSize: 2048,
      threads: 1,
      slots: 1,
      queueLimit: 2,
      cacheDir: path.join(dataDir, "remote-engine"),
    });
    try {
      const { text, deltas, usage } = await drain(engine, {
        // Text only: the remote engine takes vision from a server's /models capabilities, which this app's /v1/models does not list.
        messages: [{ role: "user", text: "What color is the circle?" }],
        maxTokens: 40,
        sampling: { temperature: 0 },
        constraint: { jsonSchema: colourSchema },
      });
      expect(usage.finishReason).toBe("stop");
      expect(COLOURS).toContain((JSON.parse(text) as { color: string }).color);
      expect(deltas.length).toBeGreaterThan(1);
      let logprobs = 0;
      for await (const ev of engine.generate({ messages: [{ role: "user", text: "Hello" }], maxTokens: 5, sampling: { temperature: 0 }, logprobs: 2 })) {
        if (ev.type === "delta") logprobs += ev.logprobs?.length ?? 0;
      }
      expect(logprobs).toBeGreaterThan(0);
    } finally {
      await engine.dispose();
    }
  });
});
