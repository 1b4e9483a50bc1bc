import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fitSize } from "@/lib/engine/fit-image";
import { familyOfProjector } from "@/lib/engine/families";
import { loadEnv } from "@/lib/env-schema";

const patches = (w: number, h: number) => Math.ceil(w / 28) * Math.ceil(h / 28);

describe("fitSize", () => {
  it("leaves an image that fits alone", () => {
    expect(fitSize(640, 480, 1000, patches)).toBeNull();
  });

  it("finds the largest size within the budget, keeping the aspect ratio", () => {
    const fit = fitSize(2048, 1536, 1000, patches)!;
    expect(fit.tokens).toBeLessThanOrEqual(1000);
    expect(fit.tokens).toBe(patches(fit.width, fit.height));
    expect(fit.width / fit.height).toBeCloseTo(4 / 3, 1);
    // One step larger would not fit any more.
    expect(patches(fit.width + 28, Math.round(((fit.width + 28) * 3) / 4))).toBeGreaterThan(1000);
  });

  it("leaves an image alone when shrinking saves nothing (a cost that does not fall with size)", () => {
    expect(fitSize(2048, 2048, 1024, () => 1416)).toBeNull();
    expect(fitSize(300, 300, 100, () => 576)).toBeNull();
  });

  it("takes the largest size at the family's floor when nothing fits the budget", () => {
    // LLaVA-1.6-like: one 576-token tile up to 336 px, more above.
    const tiles = (w: number, h: number) => (w <= 336 && h <= 336 ? 576 : 2880);
    const fit = fitSize(2048, 1536, 300, tiles)!;
    expect(fit.tokens).toBe(576);
    expect(fit.width).toBeGreaterThan(320);
    expect(fit.width).toBeLessThanOrEqual(336);
  });
});

describe("families", () => {
  it("tells LLaVA-1.5 from LLaVA-1.6 by the grid pinpoints", () => {
    expect(familyOfProjector("mlp", { "clip.vision.image_size": 336, "clip.vision.patch_size": 14 })?.id).toBe("llava-1.5");
    expect(familyOfProjector("nothing-we-know", {})).toBeUndefined();
  });
});

describe("MAX_IMAGE_TOKENS", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-env-"));
  it("takes one number or a per-model list", () => {
    expect(loadEnv({ DATA_DIR: dir }).MAX_IMAGE_TOKENS).toEqual({});
    expect(loadEnv({ DATA_DIR: dir, MAX_IMAGE_TOKENS: "1024" }).MAX_IMAGE_TOKENS).toEqual({ "*": 1024 });
    expect(loadEnv({ DATA_DIR: dir, MAX_IMAGE_TOKENS: "qwen2.5-vl-7b=2048, gemma-3-4b = 256,*=0" }).MAX_IMAGE_TOKENS).toEqual({
      "qwen2.5-vl-7b": 2048,
      "gemma-3-4b": 256,
      "*": 0,
    });
  });
  it("refuses what is not a count", () => {
    expect(() => loadEnv({ DATA_DIR: dir, MAX_IMAGE_TOKENS: "lots" })).toThrow(/MAX_IMAGE_TOKENS/);
  });
});
