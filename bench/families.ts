// npm run bench:families — every replicated model family (tiny random-weight
// copies of real GGUF layouts, lib/gguf/replicas) on both backends: for
// images of 64×64, 1024×768 and 2048×1536, the tokens our family rule
// counts, the tokens llama.cpp itself reports (the baseline: the in-process
// binding's tokenizer, or llama-server's tokens_evaluated), and the time to
// the first token of a one-image prompt (image encoding + prefill, the
// median of BENCH_REPS runs, default 1). The towers are tiny, so the times
// show preprocessing and token counts, not a real model's encoder cost.
// Prints a markdown table, then one FAMILIES line.
import os from "node:os";
import path from "node:path";
import { Engine } from "../lib/engine/engine";
import { familyById, type FamilyId } from "../lib/engine/families";
import { builtServerPath, readBuildInfo } from "../lib/engine/llama-server/binary";
import { FAMILY_IMAGE_SIZES, REPLICATED_FAMILIES, familyImage, replicaModel } from "../tests/helpers/families";

const REPS = Number(process.env.BENCH_REPS ?? 1);
const ONLY = process.env.BENCH_FAMILIES?.split(",") as FamilyId[] | undefined;
const BACKENDS = (process.env.BENCH_BACKENDS ?? "in-process,llama-server").split(",");

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const rows: string[] = [];
  let cells = 0;
  let agree = 0;
  for (const family of ONLY ?? REPLICATED_FAMILIES) {
    const model = await replicaModel(family);
    for (const backend of BACKENDS) {
      if (backend === "llama-server" && !readBuildInfo()) {
        console.error("llama-server is not built (npm run engine:build): skipping its rows");
        continue;
      }
      const engine = await Engine.load({
        model,
        engine: backend === "llama-server" ? "llama-server" : "in-process",
        llamaServer: backend === "llama-server" ? { binary: builtServerPath(), gpuBuild: [] } : undefined,
        gpu: "cpu",
        gpuLayers: 0,
        contextSize: 8192,
        threads: Math.max(1, Math.min(4, os.availableParallelism() - 1)),
        slots: 1,
        queueLimit: 1,
        maxImageTokens: 0,
        cacheDir: path.join(os.tmpdir(), `lvc-bench-families-${process.pid}`),
      });
      try {
        for (const [w, h] of FAMILY_IMAGE_SIZES) {
          const img = await familyImage(w, h);
          const ours = (await engine.imageCost(img)).tokens;
          const report = await engine.reportedImageTokens(img);
          const expected = await engine.ruleImageTokens(img, report.unit);
          const ttft: number[] = [];
          for (let r = 0; r < REPS; r++) {
            for await (const ev of engine.generate({ messages: [{ role: "user", text: "What is this?", images: [img] }], maxTokens: 1, sampling: { temperature: 0 } })) {
              if (ev.type === "done") ttft.push(ev.usage.ttftMs);
            }
          }
          cells++;
          if (expected === report.tokens) agree++;
          const reported = report.unit === "cells" ? `${report.tokens}` : `${report.tokens} positions (rule: ${expected})`;
          rows.push(`| ${familyById(family).label} | ${backend} | ${w}×${h} | ${ours} | ${reported} | ${Math.round(median(ttft))} |`);
          console.error(rows.at(-1));
        }
      } finally {
        await engine.dispose();
      }
    }
  }
  console.log("| family | backend | image | tokens (our rule) | tokens (llama.cpp) | TTFT ms |");
  console.log("| --- | --- | --- | ---: | ---: | ---: |");
  for (const r of rows) console.log(r);
  console.log(`FAMILIES cells=${cells} counts_agree=${agree}/${cells}`);
  process.exit(agree === cells ? 0 : 1);
}

void main();
