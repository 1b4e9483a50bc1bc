import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { flattenMeta, readGguf } from "@/lib/engine/catalog";
import { familyOfProjector, type ClipMeta } from "@/lib/engine/families";
import { bestPinpoint, rule } from "@/lib/engine/families/llava-1.6";
import { rule as llava15 } from "@/lib/engine/families/llava-1.5";
import { renderPrompt } from "@/lib/engine/prompt";
import { LLAVA16_PINPOINTS, MISTRAL_INST_TEMPLATE, writeReplica } from "@/lib/gguf/replicas/llava-1.6";

/** The GGUF reader's nested metadata as the dotted keys the family rules read. */

/** llava-v1.6-mistral-7b's mmproj preprocessing metadata. */
const CLIP: ClipMeta = {
  "clip.projector_type": "mlp",
  "clip.vision.image_size": 336,
  "clip.vision.patch_size": 14,
  "clip.vision.image_grid_pinpoints": [...LLAVA16_PINPOINTS],
  "clip.vision.mm_patch_merge_type": "spatial_unpad",
};

describe("LLaVA-1.6 image tokens", () => {
  // What llama.cpp reported for the replica, identical in-process
  // (@fugood/llama.node 1.7.15) and in the built llama-server:
  // tokens("a<__media__>b" with the image) − tokens("ab"), BOS excluded.
  const measured: Array<[number, number, number]> = [
    [64, 64, 576],
    [1024, 768, 2880],
    [2048, 1536, 2880],
    [300, 700, 2304],
    [1920, 1080, 2880],
    [17, 900, 2304],
    [337, 336, 1728],
    [700, 300, 2304],
    [1000, 1000, 2880],
  ];
  it.each(measured)("%i×%i → %i", (w, h, tokens) => {
    expect(rule.imageTokens(CLIP, w, h)).toBe(tokens);
  });

  it("picks the pinpoint that keeps the most pixels, then wastes the least", () => {
    expect(bestPinpoint(2048, 1536, LLAVA16_PINPOINTS)).toEqual({ width: 672, height: 672 });
    expect(bestPinpoint(337, 336, LLAVA16_PINPOINTS)).toEqual({ width: 672, height: 336 });
    expect(bestPinpoint(17, 900, LLAVA16_PINPOINTS)).toEqual({ width: 336, height: 1008 });
  });

  it("claims only mlp projectors with grid pinpoints; LLaVA-1.5 keeps the rest", () => {
    expect(familyOfProjector("mlp", CLIP)?.id).toBe("llava-1.6");
    expect(familyOfProjector("mlp", { "clip.vision.image_size": 336, "clip.vision.patch_size": 14 })?.id).toBe("llava-1.5");
    expect(llava15.matches?.(CLIP)).toBe(false);
    // An empty list means one fixed tile in clip.cpp.
    expect(rule.imageTokens({ ...CLIP, "clip.vision.image_grid_pinpoints": [] }, 2048, 1536)).toBe(576);
  });
});

describe("LLaVA-1.6 replica", () => {
  it("writes a pair the catalog reads as llama + anyres mlp", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-llava16-"));
    const files = writeReplica(dir);
    const llm = await readGguf(files.llm);
    const mm = await readGguf(files.mmproj);
    expect(llm.architecture).toBe("llama");
    const meta = flattenMeta(llm.meta);
    expect(meta["tokenizer.ggml.model"]).toBe("llama");
    expect(meta["tokenizer.chat_template"]).toContain("[INST]");
    expect(mm.architecture).toBe("clip");
    const clip = flattenMeta(mm.meta);
    expect(clip["clip.projector_type"]).toBe("mlp");
    expect(clip["clip.vision.mm_patch_merge_type"]).toBe("spatial_unpad");
    expect(clip["clip.vision.projection_dim"]).toBe(meta["llama.embedding_length"]);
    expect(familyOfProjector("mlp", clip)?.id).toBe("llava-1.6");
    expect(rule.imageTokens(clip, 2048, 1536)).toBe(2880);
    // Writing again reuses the files.
    const before = fs.statSync(files.mmproj).mtimeMs;
    writeReplica(dir);
    expect(fs.statSync(files.mmproj).mtimeMs).toBe(before);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("LLaVA-1.6 chat template", () => {
  it("renders system, user (with image markers on their own lines) and assistant turns", () => {
    const { prompt, images } = renderPrompt(MISTRAL_INST_TEMPLATE, [
      { role: "system", text: "Be brief." },
      { role: "user", text: "What is it?", images: ["/x.png", "/y.png"] },
      { role: "assistant", text: "A cat." },
      { role: "user", text: "Sure?" },
    ]);
    expect(prompt).toBe("[INST] Be brief.\n\n<__media__>\n<__media__>\nWhat is it? [/INST] A cat.</s>[INST] Sure? [/INST]");
    expect(images).toEqual(["/x.png", "/y.png"]);
  });
});
