import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe } from "vitest";
import { startServer, type RunningServer } from "../helpers/server";
import { structuredCases } from "../helpers/openai-structured-cases";

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

  structuredCases(() => server.url);
});
