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
import { beforeAll, describe, expect, it } from "vitest";
import { backgroundFor, rng, scene, svgOf } from "../helpers/shape-scenes";

// The shipped CLIP-style encoders (models/clip/shapes-clip, trained by
// models/train/clip.py), loaded with transformers.js from the local folder,
// must rank the right caption first among 20 for held-out images, drawn by
// another renderer (SVG) on white, dark and coloured backgrounds.

describe("CLIP-style encoders through transformers.js", () => {
  // The same 100 scenes on white, on dark and on coloured backgrounds (the
  // shipped encoders learned all three: models/train/clip.py).
  const load = async () => {
    env.allowRemoteModels = false;
    env.localModelPath = path.resolve(import.meta.dirname, "..", "..", "models", "clip");
    const id = "shapes-clip";
    return {
      tokenizer: await AutoTokenizer.from_pretrained(id),
      textModel: await CLIPTextModelWithProjection.from_pretrained(id, { dtype: "fp32" }),
      processor: await AutoProcessor.from_pretrained(id),
      visionModel: await CLIPVisionModelWithProjection.from_pretrained(id, { dtype: "fp32" }),
    };
  };
  let models: Awaited<ReturnType<typeof load>>;
  beforeAll(async () => {
    models = await load();
  });

  for (const [kind, floor] of [["white", 0.95], ["dark", 0.95], ["coloured", 0.95]] as const) {
    it(`rank the matching caption first among 20 for at least ${floor * 100}% of held-out images on ${kind}`, async () => {
      const { tokenizer, textModel, processor, visionModel } = models;
      const rand = rng(4242);
      const backgrounds = rng(4343);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-clip-"));
      const N = 100;
      const scenes = Array.from({ length: N }, () => scene(rand, [64, 256, 512][Math.floor(rand() * 3)]!));
      let correct = 0;
      for (let i = 0; i < N; i++) {
        const file = path.join(dir, `${i}.png`);
        const s = scenes[i]!;
        await sharp(Buffer.from(svgOf(s.objects, s.size, backgroundFor(backgrounds, kind, s.objects)))).png().toFile(file);
        // 19 distractors: other scenes' captions, all different from the right one.
        const candidates = [s.caption];
        for (let j = 1; candidates.length < 20; j++) {
          const c = scenes[(i + j * 7) % N]!.caption;
          if (!candidates.includes(c)) candidates.push(c);
        }
        const { image_embeds } = await visionModel(await processor(await RawImage.read(file)));
        const { text_embeds } = await textModel(tokenizer(candidates, { padding: true, truncation: true }));
        const img = image_embeds.data as Float32Array;
        const txt = text_embeds.data as Float32Array;
        const dim = img.length;
        const scores = candidates.map((_, k) => img.reduce((sum, v, d) => sum + v * txt[k * dim + d]!, 0));
        if (scores.indexOf(Math.max(...scores)) === 0) correct++;
      }
      fs.rmSync(dir, { recursive: true, force: true });
      console.log(`CLIP caption retrieval on ${kind}: ${correct}/${N} ranked first among 20`);
      expect(correct / N).toBeGreaterThanOrEqual(floor);
    });
  }
});
