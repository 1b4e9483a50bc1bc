// `npm run models:eval`: evaluates the shipped demo model (models/tiny/)
// THROUGH THE APP'S ENGINE (llama.cpp via @fugood/llama.node, the binding the
// app uses) on a freshly generated held-out set, and compares its greedy
// answers with PyTorch's on the same images, PyTorch running the weights
// read back from the same GGUF files (so a fresh clone needs no checkpoint).
// Needs Debian's python3-torch, python3-pil and python3-numpy.
// Exact match of the whole answer sentence. Last line:
//   ACCURACY colour=X shape=X presence=X count=X position=X describe=X paraphrase=X renderer2=X multi_image=X background=X agreement=X
// (background: the same questions on dark, coloured and textured backgrounds, shapes of every size)
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { scanCatalog } from "../../lib/engine/catalog";
import { loadEvalEngine } from "./eval-engine";
import { quietNativeOutput } from "./quiet-native";

// llama.cpp prints every prompt to fds 1 and 2 from C. Run the evaluation in
// a child whose own output goes to fds 3 and 4 (scripts/app-output.mjs, as
// the app does), and keep only native warnings and errors from 1 and 2.
await quietNativeOutput();

interface Item {
  group: "base" | "paraphrase" | "unseen" | "renderer2" | "background" | "multi" | "refusal";
  kind: string;
  files: string[];
  raster?: string[];
  question: string;
  answer: string;
  objects: number;
  width: number;
  height: number;
  jpeg: boolean;
  engine?: string;
  engineRaw?: string;
  /** PyTorch (same GGUF weights) decodes exactly the engine's answer. */
  agrees?: boolean;
  /** PyTorch would give the expected answer. */
  pytorch_right?: boolean;
  engineEnded?: boolean;
}

const here = import.meta.dirname;
const perKind = Number(process.env.EVAL_PER_KIND ?? 100);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-eval-"));
const python = process.env.EVAL_PYTHON ?? "/usr/bin/python3";
const started = Date.now();

const modelsDir = process.env.EVAL_MODELS_DIR ?? path.join(here, "..", "tiny");
const { models } = await scanCatalog({ dir: modelsDir });
const model = models.find((m) => m.vision);
if (!model?.vision) throw new Error(`no vision model in ${modelsDir}`);

function py(...args: string[]) {
  const r = spawnSync(python, [path.join(here, "heldout.py"), ...args], {
    stdio: ["ignore", 3, 4], // the real stdout and stderr (see above)
    env: { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1" },
  });
  if (r.error || r.status !== 0) {
    console.error(r.error ? `${python}: ${r.error.message} (install Debian's python3-torch, python3-pil and python3-numpy)` : "heldout.py failed");
    process.exit(r.status || 1);
  }
}

console.log(`Generating the held-out set (${perKind} per question type) in ${dir} …`);
py("make", dir, "--per-kind", String(perKind));
const manifest = path.join(dir, "manifest.json");
let items = JSON.parse(fs.readFileSync(manifest, "utf8")) as Item[];

// The second renderer: librsvg (through sharp) rasterises the SVG scenes.
for (const item of items) {
  item.raster = [];
  for (const file of item.files) {
    if (!file.endsWith(".svg")) {
      item.raster.push(file);
      continue;
    }
    const out = file.replace(/\.svg$/, item.jpeg ? ".jpg" : ".png");
    const img = sharp(path.join(dir, file)).flatten({ background: "#ffffff" });
    await (item.jpeg ? img.jpeg({ quality: 80 }) : img.png()).toFile(path.join(dir, out));
    item.raster.push(out);
  }
}

const engine = await loadEvalEngine(model, { questions: items.length, cacheDir: path.join(dir, "cache") });
// Long enough for a description of three images (about 200 characters, one token each).
const maxTokens = 256;
const engineStarted = Date.now();
let next = 0;
async function worker() {
  while (next < items.length) {
    const item = items[next++]!;
    let text = "";
    let ended = false;
    for await (const ev of engine.generate({
      messages: [{ role: "user", text: item.question, images: item.raster!.map((f) => path.join(dir, f)) }],
      maxTokens,
      sampling: { temperature: 0 },
    })) {
      if (ev.type === "delta") text += ev.text;
      else ended = ev.usage.finishReason === "stop";
    }
    item.engineRaw = text;
    item.engine = text.trim();
    item.engineEnded = ended;
  }
}
await Promise.all([worker(), worker(), worker(), worker()]);
await engine.dispose();
const engineSeconds = (Date.now() - engineStarted) / 1000;
fs.writeFileSync(manifest, JSON.stringify(items));
console.log(`${items.length} answers through llama.cpp in ${engineSeconds.toFixed(0)} s; checking them against PyTorch on the same GGUF weights …`);
py("check", dir, "--llm", model.path, "--mmproj", model.vision.mmprojPath);
items = JSON.parse(fs.readFileSync(manifest, "utf8")) as Item[];

const frac = (xs: Item[], ok: (i: Item) => boolean) => (xs.length ? xs.filter(ok).length / xs.length : NaN);
const right = (i: Item) => i.engine === i.answer;
const f3 = (x: number) => (Number.isNaN(x) ? "  -  " : x.toFixed(3));
const of = (group: Item["group"], kind?: string) => items.filter((i) => i.group === group && (!kind || i.kind === kind));

const kinds = ["colour", "shape", "presence", "count", "position", "describe"];
const columns: [string, (kind: string) => Item[]][] = [
  ["renderer 1", (k) => of("base", k)],
  ["renderer 2", (k) => of("renderer2", k)],
  ["paraphrased", (k) => of("paraphrase", k)],
  ["unseen wording", (k) => of("unseen", k)],
  ["1 object", (k) => of("base", k).filter((i) => i.objects === 1)],
  ["2-3 objects", (k) => of("base", k).filter((i) => i.objects > 1)],
  ["non-square", (k) => of("base", k).filter((i) => i.width !== i.height)],
  ["several images", (k) => of("multi", k)],
  ["other background", (k) => of("background", k)],
];
console.log(`\n${"question".padEnd(10)}${columns.map(([c]) => c.padStart(16)).join("")}`);
for (const kind of kinds) {
  console.log(
    `${kind.padEnd(10)}${columns
      .map(([, pick]) => {
        const xs = pick(kind);
        return `${f3(frac(xs, right))} (${String(xs.length).padStart(3)})`.padStart(16);
      })
      .join("")}`,
  );
}
const all = (g: Item["group"]) => frac(of(g), right);
const refusals = of("refusal");
console.log(
  `\nrefusals (held-out questions it cannot know, long pasted text): ${f3(frac(refusals, right))} of ${refusals.length}` +
    `\nanswers that ended by themselves within ${maxTokens} tokens: ${f3(frac(items, (i) => i.engineEnded === true))}` +
    `\nPyTorch (same GGUF weights) right: ${f3(frac(of("base"), (i) => i.pytorch_right === true))} of the renderer-1 set`,
);
const agreement = frac(items, (i) => i.agrees === true);
const wrong = items.filter((i) => !right(i));
if (wrong.length) {
  console.log("\nsome misses:");
  for (const w of wrong.filter((_, n) => n % Math.max(1, Math.floor(wrong.length / 12)) === 0).slice(0, 12)) {
    console.log(`  [${w.group}] ${w.raster!.join(",")} ${w.width}x${w.height} "${w.question.slice(0, 60)}" expected "${w.answer}" got "${w.engine}"`);
  }
}
console.log(
  `\n${items.length} answers through llama.cpp in ${engineSeconds.toFixed(0)} s; ${((Date.now() - started) / 1000).toFixed(0)} s in all; files in ${dir}`,
);
const acc = Object.fromEntries(kinds.map((k) => [k, frac(of("base", k), right)]));
console.log(
  `ACCURACY colour=${f3(acc.colour!)} shape=${f3(acc.shape!)} presence=${f3(acc.presence!)} count=${f3(acc.count!)} position=${f3(acc.position!)} describe=${f3(acc.describe!)} paraphrase=${f3(all("paraphrase"))} renderer2=${f3(all("renderer2"))} multi_image=${f3(all("multi"))} background=${f3(all("background"))} agreement=${f3(agreement)}`,
);
