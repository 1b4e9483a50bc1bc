// npx tsx bench/clip-floor.ts — calibrates image search's relevance floor (`VISUAL_FLOOR` in
// lib/images/hybrid-rank.ts) on the shipped CLIP: the raw text→image cosine of true matches
// (the scene shows a shape of that colour and kind) against false ones (it does not), over a
// generated gallery of the shape world, plus queries the world has no image for (hexagons, a dog).
// Two galleries: one shape per image (every colour × kind, at three sizes, plus the project's own
// shape images: the sample and the test fixtures), and random scenes of one to three shapes.
//
// Last line: FLOOR true_p1=X true_p5=X false_p99=X false_max=X absent_best=X
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { toClipPrompt } from "../lib/images/hybrid-rank";
import { loadClipModel } from "../lib/images/load-clip-model";
import { COLOURS, rng, scene, SHAPES, svgOf, type SceneObject } from "../tests/helpers/shape-scenes";

const root = path.resolve(import.meta.dirname, "..");
const CLIP_DIR = path.resolve(root, process.env.CLIP_MODEL_DIR ?? "models/clip/shapes-clip");
const SCENES = Number(process.env.BENCH_SCENES ?? 300);
const SEED = Number(process.env.BENCH_SEED ?? 20261207);

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.max(0, Math.floor((p / 100) * xs.length)))]!;
const f3 = (x: number) => x.toFixed(3);

const clip = await loadClipModel(CLIP_DIR);
const png = (svg: string) => sharp(Buffer.from(svg)).png().toBuffer();
const rand = rng(SEED);
type Image = { name: string; objects: Pick<SceneObject, "colour" | "shape">[]; embedding: Float32Array };
const single: Image[] = [];
for (const colour of Object.keys(COLOURS))
  for (const shape of SHAPES)
    for (const r of [0.15, 0.25, 0.35]) {
      const objects = [{ shape, colour, cx: 128 + (rand() - 0.5) * 40, cy: 128 + (rand() - 0.5) * 40, r: 256 * r }];
      single.push({ name: `${colour} ${shape}`, objects, embedding: await clip.embedImage(await png(svgOf(objects, 256))) });
    }
const fixtures: [string, Image["objects"]][] = [
  ["tests/fixtures/red-circle.png", [{ colour: "red", shape: "circle" }]],
  ["tests/fixtures/blue-square.jpg", [{ colour: "blue", shape: "square" }]],
  ["public/samples/shapes.png", [{ colour: "red", shape: "circle" }, { colour: "blue", shape: "square" }]],
];
for (const [file, objects] of fixtures) single.push({ name: file, objects, embedding: await clip.embedImage(fs.readFileSync(path.join(root, file))) });
const scenes: Image[] = [];
for (let i = 0; i < SCENES; i++) {
  const s = scene(rand, 256);
  scenes.push({ name: s.caption, objects: s.objects, embedding: await clip.embedImage(await png(s.svg)) });
}
// Every colour × kind of the world, and queries no image of this world answers.
const queries = Object.keys(COLOURS).flatMap((colour) => SHAPES.map((shape) => ({ q: `${colour} ${shape}`, colour, shape: shape as string })));
const absent = ["purple hexagon", "green star", "orange pentagon", "a dog", "a cat", "a car on a street"];
const embeddings = await clip.embedTexts([...queries.map((x) => x.q), ...absent].map(toClipPrompt));
const floors = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8];

function report(label: string, gallery: Image[]) {
  const truth: number[] = [];
  const wrong: number[] = [];
  queries.forEach(({ colour, shape }, qi) => {
    for (const image of gallery) {
      const score = dot(embeddings[qi]!, image.embedding);
      (image.objects.some((o) => o.colour === colour && o.shape === shape) ? truth : wrong).push(score);
    }
  });
  const absentBest = absent.map((q, i) => {
    const scores = gallery.map((g) => dot(embeddings[queries.length + i]!, g.embedding));
    const best = scores.indexOf(Math.max(...scores));
    return { q, best: scores[best]!, image: gallery[best]!.name };
  });
  console.log(`\n${label} (${gallery.length} images)`);
  console.log(`  true matches  n=${truth.length}: min ${f3(Math.min(...truth))} p1 ${f3(pct(truth, 1))} p5 ${f3(pct(truth, 5))} median ${f3(pct(truth, 50))}`);
  console.log(`  false matches n=${wrong.length}: median ${f3(pct(wrong, 50))} p95 ${f3(pct(wrong, 95))} p99 ${f3(pct(wrong, 99))} max ${f3(Math.max(...wrong))}`);
  for (const a of absentBest) console.log(`  absent "${a.q}": best ${f3(a.best)} (${a.image})`);
  for (const floor of floors) {
    const kept = truth.filter((s) => s >= floor).length / truth.length;
    const through = wrong.filter((s) => s >= floor).length / wrong.length;
    console.log(`  floor ${floor.toFixed(2)}: keeps ${(kept * 100).toFixed(1)} % of true matches, lets ${(through * 100).toFixed(2)} % of false ones through`);
  }
  return { truth, wrong, absentBest };
}

const one = report("One shape per image", single);
report("Scenes of one to three shapes", scenes);
console.log(
  `FLOOR single_true_min=${f3(Math.min(...one.truth))} single_false_max=${f3(Math.max(...one.wrong))} single_false_p99=${f3(pct(one.wrong, 99))} absent_best=${f3(Math.max(...one.absentBest.map((a) => a.best)))}`,
);
