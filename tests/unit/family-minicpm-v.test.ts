import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { flattenMeta, readGguf } from "@/lib/engine/catalog";
import { familyOfProjector } from "@/lib/engine/families";
import { minicpmvGrid, rule } from "@/lib/engine/families/minicpm-v";
import type { ClipMeta } from "@/lib/engine/families/types";
import { writeReplica } from "@/lib/gguf/replicas/minicpm-v";

/** The dotted keys of a MiniCPM-V 2.6 mmproj that the rule reads (as the conversion script writes them). */
const CLIP: ClipMeta = {
  "clip.projector_type": "resampler",
  "clip.minicpmv_version": 3,
  "clip.minicpmv_query_num": 64,
  "clip.vision.image_size": 448,
  "clip.vision.patch_size": 14,
};


describe("MiniCPM-V 2.6 image tokens", () => {
  // Measured with the replica on both runtimes (llama-server tokens_evaluated − tokens("ab"),
  // @fugood/llama.node tokenize("a<__media__>b") − tokenize("ab")): 66 per overview or slice
  // (<image>/<slice> + 64 queries + </image>/</slice>) plus one "\n" between slice rows.
  it.each([
    [64, 64, 66],
    [1024, 768, 331],
    [2048, 1536, 662],
    [300, 700, 199],
    [1920, 1080, 595],
    [17, 900, 199],
    [449, 449, 199],
    [1000, 200, 198],
    [448, 448, 66],
    [5000, 300, 660],
    [897, 1, 198],
  ])("%i×%i → %i", (w, h, tokens) => {
    expect(rule.imageTokens(CLIP, w, h)).toBe(tokens);
  });

  it("slices into at most 9 pieces in the grid closest to the image's shape", () => {
    expect(minicpmvGrid(CLIP, 448, 448)).toEqual({ cols: 0, rows: 0 });
    expect(minicpmvGrid(CLIP, 1024, 768)).toEqual({ cols: 2, rows: 2 });
    expect(minicpmvGrid(CLIP, 2048, 1536)).toEqual({ cols: 3, rows: 3 });
    expect(minicpmvGrid(CLIP, 1920, 1080)).toEqual({ cols: 4, rows: 2 });
    expect(minicpmvGrid(CLIP, 5000, 300)).toEqual({ cols: 9, rows: 1 });
    expect(minicpmvGrid(CLIP, 300, 700)).toEqual({ cols: 1, rows: 2 });
  });

  it("uses clip.cpp's query defaults when the count is not in the file", () => {
    const legacy = { ...CLIP, "clip.minicpmv_query_num": undefined };
    expect(rule.imageTokens(legacy, 64, 64)).toBe(66);
    expect(familyOfProjector("resampler", { ...CLIP, "clip.minicpmv_version": 2 })?.id).not.toBe("minicpm-v");
  });
});

describe("MiniCPM-V 2.6 replica", () => {
  it("writes a qwen2 LLM and a version-3 resampler mmproj the catalog reads", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-minicpmv-"));
    const files = writeReplica(dir);
    expect(path.basename(files.llm)).toBe("minicpm-v-replica.gguf");
    expect(path.basename(files.mmproj)).toBe("mmproj-minicpm-v-replica.gguf");

    const llm = await readGguf(files.llm);
    expect(llm.architecture).toBe("qwen2");
    const lm = flattenMeta(llm.meta);
    expect(lm["tokenizer.ggml.pre"]).toBe("qwen2");
    expect(String(lm["tokenizer.chat_template"])).toContain("<|im_start|>assistant");
    expect(llm.sizeBytes).toBeLessThan(4 * 1024 * 1024);

    const mm = await readGguf(files.mmproj);
    expect(mm.architecture).toBe("clip");
    const clip = flattenMeta(mm.meta);
    expect(clip["clip.projector_type"]).toBe("resampler");
    expect(clip["clip.minicpmv_version"]).toBe(3);
    expect(clip["clip.minicpmv_query_num"]).toBe(64);
    expect(clip["clip.vision.image_size"]).toBe(448);
    // As the real conversion script writes it: the width is only in resampler.proj.weight.
    expect(clip["clip.vision.projection_dim"]).toBe(0);
    expect(mm.sizeBytes).toBeLessThan(6 * 1024 * 1024);
    expect(familyOfProjector("resampler", clip)?.id).toBe("minicpm-v");
    expect(rule.architectures).toContain(llm.architecture);
    expect(rule.imageTokens(clip, 2048, 1536)).toBe(662);
  });
});
