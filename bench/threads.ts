// npm run bench:threads — decode speed and image time-to-first-token by
// thread count, for both local engines, on the realistic random pair. The
// sweep behind the THREADS default (lib/env-schema.ts `defaultThreads`).
//   BENCH_THREAD_LIST=1,2,4,8   (default: 1 … cores)
//   BENCH_REPS=3
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { scanCatalog } from "../lib/engine/catalog";
import { Engine } from "../lib/engine/engine";
import { builtServerPath, readBuildInfo } from "../lib/engine/llama-server/binary";
import type { EngineMessage } from "../lib/engine/types";
import { ensureRandomPair } from "../lib/gguf/random-pair";

const root = path.resolve(import.meta.dirname, "..");
process.chdir(root);
const cores = os.availableParallelism();
const LIST = (process.env.BENCH_THREAD_LIST ?? Array.from({ length: cores }, (_, i) => i + 1).join(",")).split(",").map(Number);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const IMAGE = path.join(root, "tests", "fixtures", "red-circle.png");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function run(engine: Engine, messages: EngineMessage[], maxTokens: number) {
  const started = performance.now();
  let first = 0;
  let tps = 0;
  for await (const ev of engine.generate({ messages, maxTokens, sampling: { temperature: 0 } })) {
    if (ev.type === "delta" && !first) first = performance.now();
    if (ev.type === "done") tps = ev.usage.tokensPerSecond;
  }
  return { ttft: first - started, tps };
}

const pair = ensureRandomPair({ dir: path.join(root, ".cache", "models"), preset: "realistic" });
const { models } = await scanCatalog({ dir: path.dirname(pair.llm), modelPath: pair.llm, mmprojPath: pair.mmproj });
const kinds = (readBuildInfo() ? ["llama-server", "in-process"] : ["in-process"]) as ("llama-server" | "in-process")[];
console.log(`machine: ${os.cpus()[0]?.model ?? "?"} × ${cores}; ${models[0]!.name}; medians of ${REPS}`);
console.log("| engine | threads | decode tok/s | image time to first token ms |\n| --- | ---: | ---: | ---: |");
for (const kind of kinds) {
  for (const threads of LIST) {
    const engine = await Engine.load({
      model: models[0]!,
      engine: kind,
      backend: kind === "in-process" ? "llama-node" : undefined,
      llamaServer: { binary: builtServerPath(), gpuBuild: [] },
      gpu: "cpu",
      gpuLayers: 0,
      contextSize: 2048,
      threads,
      slots: 1,
      queueLimit: 1,
      cacheDir: fs.mkdtempSync(path.join(os.tmpdir(), "lvc-threads-")),
    });
    const decode: number[] = [];
    const ttft: number[] = [];
    for (let i = 0; i < REPS; i++) {
      decode.push((await run(engine, [{ role: "user", text: `Count to ten, take ${i}.` }], 32)).tps);
      ttft.push((await run(engine, [{ role: "user", text: `Picture ${i}: what is it?`, images: [IMAGE] }], 1)).ttft);
    }
    await engine.dispose();
    console.log(`| ${kind} | ${threads} | ${median(decode).toFixed(1)} | ${median(ttft).toFixed(0)} |`);
  }
}
