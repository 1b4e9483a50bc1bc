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
import { rng, scene } from "../helpers/shape-scenes";

// The shipped CLIP-style encoders (models/clip/shapes-clip, trained by
// models/train/clip.py), loaded with transformers.js from the local folder,
// must rank the right caption first among 20 for held-out images.

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
