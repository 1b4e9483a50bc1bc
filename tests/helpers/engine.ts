import os from "node:os";
import path from "node:path";
import { scanCatalog, type CatalogModel } from "@/lib/engine/catalog";
import { Engine, type EngineOptions } from "@/lib/engine/engine";
import { builtServerPath, readBuildInfo } from "@/lib/engine/llama-server/binary";
import type { GenerateRequest, GenerationUsage } from "@/lib/engine/types";
import { ensureRandomPair } from "@/lib/gguf/random-pair";

export const MODEL_CACHE = path.resolve(import.meta.dirname, "..", "..", ".cache", "models");

/** The deterministic random tiny pair, generated once into .cache/models. */
export async function tinyRandomModel(): Promise<{ model: CatalogModel; imageTokens: number }> {
  const pair = ensureRandomPair({ dir: MODEL_CACHE, preset: "tiny" });
  const { models } = await scanCatalog({ dir: MODEL_CACHE, modelPath: pair.llm, mmprojPath: pair.mmproj });
  return { model: models[0]!, imageTokens: pair.imageTokens };
}

/** The backends under test: the two in-process bindings and a supervised llama-server. */
export type TestBackend = NonNullable<EngineOptions["backend"]> | "llama-server";

/** The llama-server `npm run engine:build` made; the suite needs it (npm test builds it first). */
export function llamaServerBinary(): { binary: string; gpuBuild: string[] } {
  const info = readBuildInfo();
  if (!info) throw new Error("llama-server is not built: run `npm run engine:build` (npm test does it first)");
  return { binary: builtServerPath(), gpuBuild: [] };
}

export async function loadEngine(model: CatalogModel, backend: TestBackend, extra: Partial<EngineOptions> = {}) {
  const server = backend === "llama-server";
  return Engine.load({
    model,
    engine: server ? "llama-server" : "in-process",
    backend: server ? undefined : backend,
    llamaServer: server ? llamaServerBinary() : undefined,
    gpu: "cpu",
    gpuLayers: "auto",
    contextSize: 2048,
    threads: 1,
    slots: 2,
    queueLimit: 4,
    cacheDir: path.join(os.tmpdir(), `lvc-engine-${backend}-${process.pid}-${Math.random().toString(36).slice(2)}`),
    ...extra,
  });
}

/** Drains a generation into its text, the deltas and the final usage. */
export async function drain(engine: Engine, req: GenerateRequest, onDelta?: (text: string, n: number) => void) {
  const deltas: string[] = [];
  let usage: GenerationUsage | undefined;
  for await (const ev of engine.generate(req)) {
    if (ev.type === "delta") {
      deltas.push(ev.text);
      onDelta?.(ev.text, deltas.length);
    } else usage = ev.usage;
  }
  return { text: deltas.join(""), deltas, usage: usage! };
}
