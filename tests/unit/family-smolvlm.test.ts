import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { flattenMeta, readGguf } from "@/lib/engine/catalog";
import { familyOfProjector } from "@/lib/engine/families";
import { idefics3Grid, rule } from "@/lib/engine/families/smolvlm";
import type { ClipMeta } from "@/lib/engine/families/types";
import { renderPrompt } from "@/lib/engine/prompt";
import { writeReplica } from "@/lib/gguf/replicas/smolvlm";


/** SmolVLM2-2.2B-Instruct as convert_hf_to_gguf.py writes it today: 384 px tiles, patch 14, shuffle 3, longest edge 1536. */
const SMOLVLM2: ClipMeta = {
  "clip.projector_type": "idefics3",
  "clip.vision.image_size": 384,
  "clip.vision.patch_size": 14,
  "clip.vision.projector.scale_factor": 3,
  "clip.vision.preproc_image_size": 1536,
};

describe("SmolVLM family", () => {
  // What llama.cpp reported for the replica: in-process @fugood/llama.node 1.7.15
  // and the bundled llama-server gave the same number for every one of these sizes.
  it.each([
    [64, 64, 1416], // upscaled to 1536²: 4×4 tiles
    [1024, 768, 1083], // 1536×1152: 4×3
    [2048, 1536, 1083],
    [300, 700, 752], // 658×1536: 2×4
    [1920, 1080, 1083], // 1536×864: 4×3
    [17, 900, 420], // 30×1536: 1×4
    [900, 17, 417], // 1536×30: 4×1
    [383, 385, 1416],
    [1537, 1000, 1083],
    [1536, 385, 750], // 1536×386: 4×2
    [1152, 1536, 1084], // 3×4
    [1, 1, 1416],
    [2000, 3, 417],
    [761, 29, 417],
    [2357, 921, 750],
  ])("an image of %i×%i costs %i tokens", (w, h, tokens) => {
    expect(rule.imageTokens(SMOLVLM2, w, h)).toBe(tokens);
  });

  it("counts tiles, markers, row breaks and the global view", () => {
    expect(idefics3Grid(SMOLVLM2, 1024, 768)).toEqual({ cols: 4, rows: 3 });
    // 12 tiles × (81 + 2 markers) + 2 row breaks + global view (3 + 81 + 1).
    expect(rule.imageTokens(SMOLVLM2, 1024, 768)).toBe(12 * 83 + 2 + 85);
    // SmolVLM-256M/500M: 512 px tiles, patch 16, shuffle 4 (64 a tile), longest edge 2048.
    const small = { ...SMOLVLM2, "clip.vision.image_size": 512, "clip.vision.patch_size": 16, "clip.vision.projector.scale_factor": 4, "clip.vision.preproc_image_size": 2048 };
    expect(rule.imageTokens(small, 1024, 768)).toBe(12 * 66 + 2 + 68);
  });

  it("files without preproc_image_size: each edge rounded to whole tiles (llama-server's numbers)", () => {
    // Measured on the bundled llama-server. @fugood/llama.node 1.7.15 does not
    // tile such files at all (85 tokens for every size: the global view only).
    const old = { ...SMOLVLM2 } as Record<string, unknown>;
    delete old["clip.vision.preproc_image_size"];
    const measured: Array<[number, number, number]> = [
      [64, 64, 168],
      [1024, 768, 584],
      [2048, 1536, 1748],
      [300, 700, 252],
      [1920, 1080, 1332],
      [17, 900, 252],
      [576, 577, 418],
      [575, 1000, 336],
    ];
    for (const [w, h, tokens] of measured) expect(rule.imageTokens(old, w, h), `${w}×${h}`).toBe(tokens);
  });

  it("writes a replica pair the catalog reads as SmolVLM, once", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-smolvlm-"));
    const files = writeReplica(dir);
    const llm = await readGguf(files.llm);
    const mmproj = await readGguf(files.mmproj);
    expect(llm.architecture).toBe("llama");
    const meta = flattenMeta(llm.meta);
    expect(meta["tokenizer.ggml.model"]).toBe("gpt2");
    expect(meta["tokenizer.ggml.pre"]).toBe("smollm");
    expect(meta["llama.embedding_length"]).toBe(64);
    const clip = flattenMeta(mmproj.meta);
    expect(clip).toMatchObject({ "clip.projector_type": "idefics3", "clip.vision.image_size": 384, "clip.vision.patch_size": 14 });
    expect(familyOfProjector("idefics3", clip)?.id).toBe("smolvlm");
    expect(rule.architectures).toContain(llm.architecture);
    expect(rule.imageTokens(clip, 2048, 1536)).toBe(1083);
    expect(fs.statSync(files.llm).size + fs.statSync(files.mmproj).size).toBeLessThan(4_000_000);

    const before = [fs.statSync(files.llm).mtimeMs, fs.statSync(files.mmproj).mtimeMs];
    expect(writeReplica(dir)).toEqual(files);
    expect([fs.statSync(files.llm).mtimeMs, fs.statSync(files.mmproj).mtimeMs]).toEqual(before);
  });

  it("its chat template gives SmolVLM turns", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-smolvlm-"));
    const { llm } = writeReplica(dir);
    const template = flattenMeta((await readGguf(llm)).meta)["tokenizer.chat_template"] as string;
    const { prompt } = renderPrompt(template, [
      { role: "system", text: "Be brief." },
      { role: "user", text: "What is it?", images: ["/x.png"] },
      { role: "assistant", text: "A cat." },
      { role: "user", text: "Sure?" },
    ]);
    expect(prompt).toBe(
      "<|im_start|>System: Be brief.<end_of_utterance>\nUser: <__media__>\nWhat is it?<end_of_utterance>\n" +
        "Assistant: A cat.<end_of_utterance>\nUser: Sure?<end_of_utterance>\nAssistant:",
    );
  });
});
