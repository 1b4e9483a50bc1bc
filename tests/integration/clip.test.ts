import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  AutoProcessor,
  AutoTokenizer,
  CLIPTextModelWithProjection,
  CLIPVisionModelWithProjection,
  env,
  RawImage,
} from "@huggingface/transformers";
import sharp from "sharp";
import { describe, expect, it } from "vitest";

// The shipped CLIP-style encoders (models/clip/shapes-clip, trained by
// models/train/clip.py), loaded with transformers.js from the local folder,
// must rank the right caption first among 20 for held-out images.

const COLOURS: Record<string, string> = {
  red: "#dc1e1e",
  green: "#1ea032",
  blue: "#1e3cdc",
  yellow: "#f0cd14",
  purple: "#8c28aa",
  orange: "#fa8214",
};
const SHAPES = ["circle", "square", "triangle"] as const;

function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Obj {
  shape: (typeof SHAPES)[number];
  colour: string;
  cx: number;
  cy: number;
  r: number;
}

/** A scene like the training world's, drawn as SVG (a different renderer than training used). */
function scene(rand: () => number, size: number): { svg: string; caption: string } {
  const n = 1 + Math.floor(rand() * 3);
  const objs: Obj[] = [];
  for (let tries = 0; objs.length < n && tries < 200; tries++) {
    const r = size * (0.11 + rand() * (n > 1 ? 0.11 : 0.23));
    const cx = r + rand() * (size - 2 * r);
    const cy = r + rand() * (size - 2 * r);
    if (objs.some((o) => Math.hypot(o.cx - cx, o.cy - cy) < (o.r + r) * 1.08)) continue;
    objs.push({ shape: SHAPES[Math.floor(rand() * 3)]!, colour: Object.keys(COLOURS)[Math.floor(rand() * 6)]!, cx, cy, r });
  }
  const body = objs
    .map((o) => {
      const fill = COLOURS[o.colour];
      if (o.shape === "circle") return `<circle cx="${o.cx}" cy="${o.cy}" r="${o.r}" fill="${fill}"/>`;
      if (o.shape === "square") return `<rect x="${o.cx - o.r * 0.9}" y="${o.cy - o.r * 0.9}" width="${o.r * 1.8}" height="${o.r * 1.8}" fill="${fill}"/>`;
      return `<polygon points="${o.cx},${o.cy - o.r} ${o.cx - o.r * 0.95},${o.cy + o.r * 0.75} ${o.cx + o.r * 0.95},${o.cy + o.r * 0.75}" fill="${fill}"/>`;
    })
    .join("");
  const parts = [...objs].sort((a, b) => a.cx - b.cx).map((o) => `a ${o.colour} ${o.shape}`);
  const text = parts.length === 1 ? parts[0]! : parts.length === 2 ? `${parts[0]} and ${parts[1]}` : `${parts[0]}, ${parts[1]} and ${parts[2]}`;
  return {
    svg: `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><rect width="100%" height="100%" fill="white"/>${body}</svg>`,
    caption: text[0]!.toUpperCase() + text.slice(1) + ".",
  };
}

describe("CLIP-style encoders through transformers.js", () => {
  it("rank the matching caption first among 20 for at least 90% of held-out images", async () => {
    env.allowRemoteModels = false;
    env.localModelPath = path.resolve(import.meta.dirname, "..", "..", "models", "clip");
    const id = "shapes-clip";
    const tokenizer = await AutoTokenizer.from_pretrained(id);
    const textModel = await CLIPTextModelWithProjection.from_pretrained(id, { dtype: "fp32" });
    const processor = await AutoProcessor.from_pretrained(id);
    const visionModel = await CLIPVisionModelWithProjection.from_pretrained(id, { dtype: "fp32" });

    const rand = rng(4242);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-clip-"));
    const N = 100;
    const scenes = Array.from({ length: N }, () => scene(rand, [64, 256, 512][Math.floor(rand() * 3)]!));
    let correct = 0;
    for (let i = 0; i < N; i++) {
      const file = path.join(dir, `${i}.png`);
      await sharp(Buffer.from(scenes[i]!.svg)).png().toFile(file);
      // 19 distractors: other scenes' captions, all different from the right one.
      const candidates = [scenes[i]!.caption];
      for (let j = 1; candidates.length < 20; j++) {
        const c = scenes[(i + j * 7) % N]!.caption;
        if (!candidates.includes(c)) candidates.push(c);
      }
      const { image_embeds } = await visionModel(await processor(await RawImage.read(file)));
      const { text_embeds } = await textModel(tokenizer(candidates, { padding: true, truncation: true }));
      const img = image_embeds.data as Float32Array;
      const txt = text_embeds.data as Float32Array;
      const dim = img.length;
      const scores = candidates.map((_, k) => img.reduce((s, v, d) => s + v * txt[k * dim + d]!, 0));
      if (scores.indexOf(Math.max(...scores)) === 0) correct++;
    }
    console.log(`CLIP caption retrieval: ${correct}/${N} ranked first among 20`);
    expect(correct / N).toBeGreaterThanOrEqual(0.9);
  });
});
