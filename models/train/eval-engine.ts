// The engine the evaluations ask: the app's own Engine on the in-process binding, on the CPU,
// 4 slots, every core but one, the demo model's 2048-token context (eval.ts, eval-gen.ts,
// eval-skills.ts).
import os from "node:os";
import type { CatalogModel } from "../../lib/engine/catalog";
import { Engine } from "../../lib/engine/engine";

export function loadEvalEngine(model: CatalogModel, { questions, cacheDir }: { questions: number; cacheDir: string }): Promise<Engine> {
  return Engine.load({
    model,
    backend: "llama-node",
    gpu: "cpu",
    gpuLayers: 0,
    contextSize: 2048,
    threads: Math.max(1, os.availableParallelism() - 1),
    slots: 4,
    queueLimit: questions,
    cacheDir,
  });
}
