import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { flattenMeta, readGguf } from "@/lib/engine/catalog";
import { familyOfProjector } from "@/lib/engine/families";
import { rule } from "@/lib/engine/families/gemma3";
import type { ClipMeta } from "@/lib/engine/families/types";
import { renderPrompt } from "@/lib/engine/prompt";
import { writeReplica } from "@/lib/gguf/replicas/gemma3";

/** readGguf's nested metadata → the dotted keys the family rules read. */

/** gemma-3-4b-it's mmproj (ggml-org/gemma-3-4b-it-GGUF, mmproj-model-f16.gguf): no scale_factor key. */
const REAL: ClipMeta = { "clip.projector_type": "gemma3", "clip.vision.image_size": 896, "clip.vision.patch_size": 14 };

describe("Gemma 3 family", () => {
  // What llama.cpp reported for the replica (in-process @fugood/llama.node 1.7.15
  // and the bundled llama-server agree): 256 pooled embeddings + <start_of_image> + <end_of_image>.
  it.each([
    [64, 64],
    [1024, 768],
    [2048, 1536],
    [300, 700],
    [1920, 1080],
    [17, 900],
    [900, 17],
    [383, 385],
    [1537, 1000],
  ])("an image of %i×%i costs 258 tokens", (w, h) => {
    expect(rule.imageTokens(REAL, w, h)).toBe(258);
  });

  it("reads the pooling factor and input size from the metadata when present", () => {
    expect(rule.imageTokens({ ...REAL, "clip.vision.projector.scale_factor": 2 }, 10, 10)).toBe(32 * 32 + 2);
    expect(rule.imageTokens({ ...REAL, "clip.vision.image_size": 448 }, 10, 10)).toBe(8 * 8 + 2);
  });

  it("writes a replica pair the catalog reads as Gemma 3, once", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-gemma3-"));
    const files = writeReplica(dir);
    const llm = await readGguf(files.llm);
    const mmproj = await readGguf(files.mmproj);
    expect(llm.architecture).toBe("gemma3");
    expect(mmproj.architecture).toBe("clip");
    const meta = flattenMeta(llm.meta);
    expect(meta["tokenizer.ggml.model"]).toBe("llama");
    expect(meta["gemma3.attention.sliding_window"]).toBe(1024);
    expect(meta["gemma3.embedding_length"]).toBe(64);
    const clip = flattenMeta(mmproj.meta);
    expect(clip["clip.projector_type"]).toBe("gemma3");
    expect(clip["clip.vision.projection_dim"]).toBe(64);
    expect(familyOfProjector("gemma3", clip)?.id).toBe("gemma3");
    expect(rule.architectures).toContain(llm.architecture);
    expect(rule.imageTokens(clip, 2048, 1536)).toBe(258);
    expect(fs.statSync(files.llm).size + fs.statSync(files.mmproj).size).toBeLessThan(4_000_000);

    const before = [fs.statSync(files.llm).mtimeMs, fs.statSync(files.mmproj).mtimeMs];
    expect(writeReplica(dir)).toEqual(files);
    expect([fs.statSync(files.llm).mtimeMs, fs.statSync(files.mmproj).mtimeMs]).toEqual(before);
  });

  it("its chat template gives Gemma turns, the system prompt folded into the first user turn", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-gemma3-"));
    const { llm } = writeReplica(dir);
    const template = flattenMeta((await readGguf(llm)).meta)["tokenizer.chat_template"] as string;
    const { prompt } = renderPrompt(template, [
      { role: "system", text: "Be brief." },
      { role: "user", text: "What is it?", images: ["/x.png"] },
      { role: "assistant", text: "A cat." },
      { role: "user", text: "Sure?" },
    ]);
    expect(prompt).toBe(
      "<start_of_turn>user\nBe brief.\n\n<__media__>\nWhat is it?<end_of_turn>\n" +
        "<start_of_turn>model\nA cat.<end_of_turn>\n" +
        "<start_of_turn>user\nSure?<end_of_turn>\n<start_of_turn>model\n",
    );
    expect(renderPrompt(template, [{ role: "user", text: "Hi" }]).prompt).toBe("<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n");
  });
});
