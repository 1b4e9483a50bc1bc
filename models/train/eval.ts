// `npm run models:eval`: evaluates the committed demo model THROUGH THE APP'S
// ENGINE (llama.cpp via @fugood/llama.node, the binding the app uses) on a
// freshly generated held-out set, and compares its greedy answers with the
// PyTorch model's on the same images. Last line:
//   ACCURACY colour=X shape=X presence=X count=X position=X describe=X agreement=X
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { scanCatalog } from "../../lib/engine/catalog";
import { Engine } from "../../lib/engine/engine";

interface Item {
  file: string;
  kind: string;
  question: string;
  answer: string;
  pytorch: string;
  objects: number;
  width: number;
  height: number;
  jpeg: boolean;
  engine?: string;
}

const here = import.meta.dirname;
const perKind = Number(process.env.EVAL_PER_KIND ?? 500);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-eval-"));
const checkpoint = process.env.EVAL_CHECKPOINT ?? path.join(here, "out", "checkpoint.pt");
if (!fs.existsSync(checkpoint)) {
  console.error(`No PyTorch checkpoint at ${checkpoint}: run npm run models:train first (the agreement figure needs it).`);
  process.exit(1);
}

console.log(`Generating ${perKind} held-out images per question type in ${dir} …`);
const gen = spawnSync("/usr/bin/python3", [path.join(here, "heldout.py"), dir, "--per-kind", String(perKind), "--checkpoint", checkpoint], {
  stdio: "inherit",
  env: { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1" },
});
if (gen.status !== 0) process.exit(gen.status ?? 1);
const items = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as Item[];

const modelsDir = path.join(here, "..", "tiny");
const { models } = await scanCatalog({ dir: modelsDir });
const model = models.find((m) => m.vision);
if (!model) throw new Error(`no vision model in ${modelsDir}`);
const engine = await Engine.load({
  model,
  backend: "llama-node",
  gpu: "cpu",
  gpuLayers: 0,
  contextSize: 512,
  threads: Math.max(1, os.availableParallelism() - 1),
  slots: 4,
  queueLimit: items.length,
  cacheDir: path.join(dir, "cache"),
});

const started = Date.now();
let next = 0;
async function worker() {
  while (next < items.length) {
    const item = items[next++]!;
    let text = "";
    for await (const ev of engine.generate({
      messages: [{ role: "user", text: item.question, images: [path.join(dir, item.file)] }],
      maxTokens: 80,
      sampling: { temperature: 0 },
    })) {
      if (ev.type === "delta") text += ev.text;
    }
    item.engine = text.trim();
  }
}
await Promise.all([worker(), worker(), worker(), worker()]);
await engine.dispose();

const kinds = ["colour", "shape", "presence", "count", "position", "describe"];
const frac = (xs: Item[], ok: (i: Item) => boolean) => (xs.length ? xs.filter(ok).length / xs.length : NaN);
const right = (i: Item) => i.engine === i.answer;
const f3 = (x: number) => (Number.isNaN(x) ? "  -  " : x.toFixed(3));
console.log("\nkind       n     all    1 object  2-3 objects  large≥1024  non-square  jpeg   pytorch  agreement");
const accuracy: Record<string, number> = {};
for (const kind of kinds) {
  const xs = items.filter((i) => i.kind === kind);
  accuracy[kind] = frac(xs, right);
  console.log(
    [
      kind.padEnd(9),
      String(xs.length).padStart(4),
      f3(accuracy[kind]!),
      f3(frac(xs.filter((i) => i.objects === 1), right)).padStart(9),
      f3(frac(xs.filter((i) => i.objects > 1), right)).padStart(11),
      f3(frac(xs.filter((i) => Math.max(i.width, i.height) >= 1024), right)).padStart(11),
      f3(frac(xs.filter((i) => i.width !== i.height), right)).padStart(11),
      f3(frac(xs.filter((i) => i.jpeg), right)).padStart(6),
      f3(frac(xs, (i) => i.pytorch === i.answer)).padStart(8),
      f3(frac(xs, (i) => i.pytorch === i.engine)).padStart(10),
    ].join("  "),
  );
}
const agreement = frac(items, (i) => i.pytorch === i.engine);
const wrong = items.filter((i) => !right(i)).slice(0, 8);
if (wrong.length) {
  console.log("\nsome misses:");
  for (const w of wrong) console.log(`  ${w.file} ${w.width}x${w.height} "${w.question}" expected "${w.answer}" got "${w.engine}"`);
}
console.log(`\n${items.length} answers through llama.cpp in ${((Date.now() - started) / 1000).toFixed(0)} s; files in ${dir}`);
console.log(
  `ACCURACY colour=${f3(accuracy.colour!)} shape=${f3(accuracy.shape!)} presence=${f3(accuracy.presence!)} count=${f3(accuracy.count!)} position=${f3(accuracy.position!)} describe=${f3(accuracy.describe!)} agreement=${f3(agreement)}`,
);
