// `npm run models:eval:gen`: evaluates the shipped shape-world generator
// (models/imagegen/shapes-gen) THROUGH lib/imagegen/local.ts on 200 held-out
// prompts (gen_data.py's heldout(): a fixed seed, half of them in wordings
// training never used), with the project's own understanding models:
// - clip_top1: the shipped CLIP (models/clip/shapes-clip) classifies colour+shape
//   zero-shot (18 labels, lib/images/zero-shot.ts) on the single-shape prompts' images;
// - vlm_agreement: the demo VLM (models/tiny, through the app's engine) describes each
//   image; it agrees when the colour+shape pairs it names are exactly the prompt's;
// - position_acc / count_acc: a colour-segmentation checker (lib/imagegen/local-check.ts)
//   on the relation and count prompts;
// - ms_per_image_64 / _256: median wall time of one image (default steps, CFG).
// Needs Debian's python3 (for the prompt list). Details go to stderr; stdout is one line:
//   GENERATION clip_top1=… vlm_agreement=… position_acc=… count_acc=… ms_per_image_64=… ms_per_image_256=…
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { scanCatalog } from "../../lib/engine/catalog";
import { findBlobs, type Blob } from "../../lib/imagegen/local-check";
import { loadLocalGeneratorFrom } from "../../lib/imagegen/local";
import { loadClipModel } from "../../lib/images/load-clip-model";
import { zeroShotProbabilities } from "../../lib/images/zero-shot";
import { loadEvalEngine } from "./eval-engine";
import { quietNativeOutput } from "./quiet-native";

// llama.cpp prints every prompt to fds 1 and 2 from C: run in a child whose own output
// goes to fds 3 and 4 (as models/train/eval.ts does) and keep only native warnings.
await quietNativeOutput();

interface Prompt {
  prompt: string;
  kind: "single" | "relation" | "count" | "list";
  style: "train" | "heldout";
  objects: { shape: string; colour: string; size: string | null }[];
  rel: "above" | "below" | "left" | "right" | null;
  bg: string | null;
}
interface Result extends Prompt {
  file: string;
  ms: number;
  blobs: Blob[];
  clip?: string;
  vlm?: string;
  clipOk?: boolean;
  vlmOk?: boolean;
  posOk?: boolean;
  countOk?: boolean;
}

const here = import.meta.dirname;
const root = path.join(here, "..", "..");
const python = process.env.EVAL_PYTHON ?? "/usr/bin/python3";
const genDir = process.env.EVAL_GEN_DIR ?? path.join(root, "models", "imagegen", "shapes-gen");
const steps = process.env.EVAL_GEN_STEPS ? Number(process.env.EVAL_GEN_STEPS) : undefined;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gen-eval-"));
const started = Date.now();

// EVAL_GEN_REFERENCE=1 measures the world's own drawings of the same prompts instead
// (what the checks give on pictures that are right by construction; no timings).
const reference = process.env.EVAL_GEN_REFERENCE === "1";
const py = spawnSync(python, [path.join(here, "gen_data.py"), "--heldout", ...(reference ? [dir] : [])], { encoding: "utf8", stdio: ["ignore", "pipe", 4], maxBuffer: 1 << 24 });
if (py.error || py.status !== 0) {
  console.error(`${python} gen_data.py --heldout failed (install Debian's python3-pil and python3-numpy)`);
  process.exit(1);
}
// EVAL_GEN_LIMIT=N: a quick look at every (200/N)-th prompt (not the reported figure).
const every = Math.max(1, Math.floor(200 / Number(process.env.EVAL_GEN_LIMIT ?? 200)));
const prompts = (JSON.parse(py.stdout) as Prompt[]).map((p, index) => ({ ...p, index })).filter((p) => p.index % every === 0);

const gen = reference ? null : await loadLocalGeneratorFrom(genDir);
if (!gen && !reference) throw new Error(`no generator in ${genDir} (run npm run models:train:gen)`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// Generate: 64 px, seed 1000 + i.
const results: Result[] = [];
for (const p of prompts) {
  const i = p.index;
  const file = path.join(dir, `${String(i).padStart(3, "0")}.png`);
  const t = performance.now();
  if (gen) {
    const [img] = await gen.generate({ prompt: p.prompt, n: 1, width: 64, height: 64, seed: 1000 + i, steps });
    fs.writeFileSync(file, img!.png);
  }
  const ms = performance.now() - t;
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  results.push({ ...p, file, ms, blobs: findBlobs(new Uint8Array(data), info.width, info.height) });
}
const ms256: number[] = [];
for (let i = 0; gen && i < 15; i++) {
  const t = performance.now();
  await gen.generate({ prompt: prompts[i % prompts.length]!.prompt, n: 1, width: 256, height: 256, seed: 5000 + i, steps });
  ms256.push(performance.now() - t);
}
console.error(`${results.length} images in ${((Date.now() - started) / 1000).toFixed(0)} s (files in ${dir})`);

// Pixels: position and count.
for (const r of results) {
  if (r.kind === "relation") {
    const [a, b] = r.objects;
    const A = r.blobs.find((x) => x.colour === a!.colour);
    const B = r.blobs.find((x) => x.colour === b!.colour);
    if (A && B) {
      const dx = B.cx - A.cx;
      const dy = B.cy - A.cy; // from A to B; "A above B" means B lower
      const [along, across] = { above: [dy, dx], below: [-dy, dx], left: [dx, dy], right: [-dx, dy] }[r.rel!] as [number, number];
      r.posOk = along > 0 && along > Math.abs(across);
    } else r.posOk = false;
  }
  if (r.kind === "count") {
    const want = r.objects.length;
    const colour = r.objects[0]!.colour;
    const main = r.blobs.filter((x) => x.colour === colour);
    // Anti-aliased fringes of another colour can pass for tiny blobs: count those at least
    // a quarter of the largest one.
    const big = main.filter((x) => x.area >= 0.25 * (main[0]?.area ?? 0));
    r.countOk = big.length === want;
  }
}

// CLIP zero-shot on the single-shape prompts.
const clip = await loadClipModel(path.join(root, "models", "clip", "shapes-clip"));
const COLOURS = ["red", "green", "blue", "yellow", "purple", "orange"];
const SHAPES = ["circle", "square", "triangle"];
const labels = COLOURS.flatMap((c) => SHAPES.map((s) => `${c} ${s}`));
for (const r of results.filter((x) => x.kind === "single")) {
  const probs = await zeroShotProbabilities({ clip, image: await clip.embedImage(fs.readFileSync(r.file)), labels });
  r.clip = labels[probs.indexOf(Math.max(...probs))];
  r.clipOk = r.clip === `${r.objects[0]!.colour} ${r.objects[0]!.shape}`;
}

// The demo VLM describes every image.
const { models } = await scanCatalog({ dir: path.join(root, "models", "tiny") });
const vlm = models.find((m) => m.vision);
if (!vlm?.vision) throw new Error("no vision model in models/tiny");
const engine = await loadEvalEngine(vlm, { questions: results.length, cacheDir: path.join(dir, "cache") });
const pairs = (text: string) => new Set([...text.toLowerCase().matchAll(/\b(red|green|blue|yellow|purple|orange) (circle|square|triangle)s?\b/g)].map((m) => `${m[1]} ${m[2]}`));
let next = 0;
async function worker() {
  while (next < results.length) {
    const r = results[next++]!;
    let text = "";
    for await (const ev of engine.generate({ messages: [{ role: "user", text: "Describe the image.", images: [r.file] }], maxTokens: 64, sampling: { temperature: 0 } })) {
      if (ev.type === "delta") text += ev.text;
    }
    r.vlm = text.trim();
    const got = pairs(r.vlm);
    const want = new Set(r.objects.map((o) => `${o.colour} ${o.shape}`));
    r.vlmOk = got.size === want.size && [...want].every((w) => got.has(w));
  }
}
await Promise.all([worker(), worker(), worker(), worker()]);
await engine.dispose();

const f3 = (x: number) => (Number.isNaN(x) ? "nan" : x.toFixed(3));
const share = (xs: Result[], key: "clipOk" | "vlmOk" | "posOk" | "countOk") => {
  const ys = xs.filter((x) => x[key] !== undefined);
  return ys.length ? ys.filter((x) => x[key]).length / ys.length : NaN;
};
for (const style of ["train", "heldout"] as const) {
  const xs = results.filter((r) => r.style === style);
  console.error(`${style.padEnd(8)} wordings: clip ${f3(share(xs, "clipOk"))} vlm ${f3(share(xs, "vlmOk"))} position ${f3(share(xs, "posOk"))} count ${f3(share(xs, "countOk"))}`);
}
for (const kind of ["single", "relation", "count", "list"] as const) {
  console.error(`${kind.padEnd(8)} vlm ${f3(share(results.filter((r) => r.kind === kind), "vlmOk"))}`);
}
const misses = results.filter((r) => r.vlmOk === false || r.clipOk === false || r.posOk === false || r.countOk === false);
console.error("some misses:");
for (const r of misses.filter((_, i) => i % Math.max(1, Math.floor(misses.length / 10)) === 0).slice(0, 10)) {
  console.error(`  ${path.basename(r.file)} "${r.prompt}" clip=${r.clip ?? "-"} vlm="${r.vlm}" blobs=${r.blobs.map((b) => `${b.colour}@${b.cx.toFixed(2)},${b.cy.toFixed(2)}`).join(" ")}`);
}
fs.writeFileSync(path.join(dir, "results.json"), JSON.stringify(results, null, 1));
console.error(`${((Date.now() - started) / 1000).toFixed(0)} s in all; ${gen ? `steps ${steps ?? gen.info.defaultSteps}` : "reference drawings"}; ${os.cpus()[0]?.model ?? "cpu"}`);
console.log(
  `GENERATION clip_top1=${f3(share(results, "clipOk"))} vlm_agreement=${f3(share(results, "vlmOk"))} position_acc=${f3(share(results, "posOk"))} count_acc=${f3(share(results, "countOk"))} ms_per_image_64=${gen ? Math.round(median(results.map((r) => r.ms))) : "-"} ms_per_image_256=${gen ? Math.round(median(ms256)) : "-"}`,
);
