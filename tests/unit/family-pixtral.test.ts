import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { flattenMeta, readGguf } from "@/lib/engine/catalog";
import { familyOfProjector, type ClipMeta } from "@/lib/engine/families";
import { pixtralResize, rule } from "@/lib/engine/families/pixtral";
import { renderPrompt } from "@/lib/engine/prompt";
import { TEKKEN_INST_TEMPLATE, writeReplica } from "@/lib/gguf/replicas/pixtral";

/** The GGUF reader's nested metadata as the dotted keys the family rules read. */

/** Pixtral-12B's mmproj preprocessing metadata (no patch merger). */
const PIXTRAL_12B: ClipMeta = { "clip.projector_type": "pixtral", "clip.vision.image_size": 1024, "clip.vision.patch_size": 16 };
/** Mistral Small 3.1's: patch 14, 2×2 patch merger. */
const MISTRAL_SMALL_31: ClipMeta = { "clip.projector_type": "pixtral", "clip.vision.image_size": 1540, "clip.vision.patch_size": 14, "clip.vision.spatial_merge_size": 2 };

describe("Pixtral image tokens", () => {
  // What llama.cpp reported for the replica, identical in-process
  // (@fugood/llama.node 1.7.15) and in the built llama-server:
  // tokens("a<__media__>b" with the image) − tokens("ab"), BOS excluded.
  // Embeddings + one [IMG_BREAK] per row but the last + [IMG_END].
  const measured: Array<[number, number, number]> = [
    [64, 64, 20],
    [1024, 768, 999],
    [2048, 1536, 999],
    [300, 700, 880],
    [1920, 1080, 1032],
    [17, 900, 112],
    [337, 336, 462],
    [700, 300, 855],
    [1000, 1000, 1056],
  ];
  it.each(measured)("Pixtral-12B %i×%i → %i", (w, h, tokens) => {
    expect(rule.imageTokens(PIXTRAL_12B, w, h)).toBe(tokens);
  });

  // Measured in-process with a Mistral Small 3.1 shaped variant of the replica's mmproj.
  const merged: Array<[number, number, number]> = [
    [64, 64, 12],
    [1024, 768, 1026],
    [2048, 1536, 999],
    [300, 700, 300],
    [1920, 1080, 1032],
    [17, 900, 64],
    [1540, 1540, 1056],
    [5, 3000, 214],
  ];
  it.each(merged)("Mistral Small 3.1 %i×%i → %i", (w, h, tokens) => {
    expect(rule.imageTokens(MISTRAL_SMALL_31, w, h)).toBe(tokens);
  });

  it("caps an image at 1024 (merged) patches and lifts a tiny one to 8", () => {
    expect(pixtralResize(2048, 1536, 16, 8 * 256, 1024 * 256)).toEqual({ width: 576, height: 432 });
    expect(pixtralResize(1, 1, 16, 8 * 256, 1024 * 256)).toEqual({ width: 48, height: 48 });
  });
});

describe("Pixtral replica", () => {
  it("writes a pair the catalog reads as llama + Tekken + pixtral projector", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-pixtral-"));
    const files = writeReplica(dir);
    const llm = await readGguf(files.llm);
    const mm = await readGguf(files.mmproj);
    expect(llm.architecture).toBe("llama");
    const meta = flattenMeta(llm.meta);
    expect(meta["tokenizer.ggml.model"]).toBe("gpt2");
    expect(meta["tokenizer.ggml.pre"]).toBe("tekken");
    expect(meta["llama.attention.key_length"]).toBe(32);
    expect(meta["tokenizer.chat_template"]).toContain("[/INST]");
    expect(mm.architecture).toBe("clip");
    const clip = flattenMeta(mm.meta);
    expect(clip["clip.projector_type"]).toBe("pixtral");
    expect(clip["clip.vision.projection_dim"]).toBe(meta["llama.embedding_length"]);
    expect(familyOfProjector("pixtral", clip)?.id).toBe("pixtral");
    expect(rule.imageTokens(clip, 2048, 1536)).toBe(999);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("Pixtral chat template", () => {
  it("renders system, user (with image markers on their own lines) and assistant turns", () => {
    const { prompt, images } = renderPrompt(TEKKEN_INST_TEMPLATE, [
      { role: "system", text: "Be brief." },
      { role: "user", text: "What is it?", images: ["/x.png", "/y.png"] },
      { role: "assistant", text: "A cat." },
      { role: "user", text: "Sure?" },
    ]);
    expect(prompt).toBe("[INST]Be brief.\n\n<__media__>\n<__media__>\nWhat is it?[/INST]A cat.</s>[INST]Sure?[/INST]");
    expect(images).toEqual(["/x.png", "/y.png"]);
  });
});
