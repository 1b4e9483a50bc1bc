import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { flattenMeta, readGguf } from "@/lib/engine/catalog";
import { familyOfProjector } from "@/lib/engine/families";
import { qwenVlGrid, rule, smartResize } from "@/lib/engine/families/qwen2.5-vl";
import type { ClipMeta } from "@/lib/engine/families/types";
import { writeReplica } from "@/lib/gguf/replicas/qwen2.5-vl";

/** The dotted keys of a Qwen2.5-VL mmproj that the rule reads (as the converter writes them). */
const CLIP: ClipMeta = { "clip.projector_type": "qwen2.5vl_merger", "clip.vision.patch_size": 14, "clip.vision.image_size": 560, "clip.vision.n_wa_pattern": 8 };


describe("Qwen2.5-VL image tokens", () => {
  // Measured with the replica on both runtimes: llama-server's tokens_evaluated − tokens("ab"),
  // and @fugood/llama.node's libmtmd chunks (n_tokens). Each is the merged grid + <|vision_start|>/<|vision_end|>.
  it.each([
    [64, 64, 11],
    [1024, 768, 1001],
    [2048, 1536, 4017],
    [300, 700, 277],
    [1920, 1080, 2693],
    [17, 900, 34],
    [449, 449, 258],
    [1000, 200, 254],
    [448, 448, 258],
    [5000, 300, 1971],
    [897, 1, 34],
  ])("%i×%i → %i", (w, h, tokens) => {
    expect(rule.imageTokens(CLIP, w, h)).toBe(tokens);
  });

  it("resizes like transformers' smart_resize: multiples of 28, 8…4096 merged tokens", () => {
    expect(smartResize(2048, 1536, 28, 8 * 784, 4096 * 784)).toEqual({ width: 2044, height: 1540 });
    expect(smartResize(64, 64, 28, 8 * 784, 4096 * 784)).toEqual({ width: 84, height: 84 });
    expect(qwenVlGrid(CLIP, 10000, 10000)).toEqual({ cols: 64, rows: 64 });
    for (const [w, h] of [[1, 1], [4000, 3000], [12345, 77], [640, 480]]) {
      const { cols, rows } = qwenVlGrid(CLIP, w, h);
      expect(cols * rows).toBeGreaterThanOrEqual(8);
      expect(cols * rows).toBeLessThanOrEqual(4096);
    }
  });

  it("follows a non-default merge size and patch size from the metadata", () => {
    expect(rule.imageTokens({ ...CLIP, "clip.vision.patch_size": 16, "clip.vision.spatial_merge_size": 2 }, 1024, 768)).toBe(32 * 24 + 2);
  });
});

describe("Qwen2.5-VL replica", () => {
  it("writes a qwen2vl LLM and a qwen2.5vl_merger mmproj the catalog reads and pairs with this family", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-qwen25vl-"));
    const files = writeReplica(dir);
    expect(path.basename(files.llm)).toBe("qwen2.5-vl-replica.gguf");
    expect(path.basename(files.mmproj)).toBe("mmproj-qwen2.5-vl-replica.gguf");
    const before = fs.statSync(files.llm).mtimeMs;
    writeReplica(dir); // existing files are kept
    expect(fs.statSync(files.llm).mtimeMs).toBe(before);

    const llm = await readGguf(files.llm);
    expect(llm.architecture).toBe("qwen2vl");
    const lm = flattenMeta(llm.meta);
    expect(lm["tokenizer.ggml.model"]).toBe("gpt2");
    expect(lm["tokenizer.ggml.pre"]).toBe("qwen2");
    expect(lm["qwen2vl.rope.dimension_sections"]).toEqual([8, 12, 12, 0]);
    expect(String(lm["tokenizer.chat_template"])).toContain("<|im_start|>");
    expect(llm.sizeBytes).toBeLessThan(4 * 1024 * 1024);

    const mm = await readGguf(files.mmproj);
    expect(mm.architecture).toBe("clip");
    const clip = flattenMeta(mm.meta);
    expect(clip["clip.projector_type"]).toBe("qwen2.5vl_merger");
    expect(clip["clip.vision.patch_size"]).toBe(14);
    expect(clip["clip.vision.n_wa_pattern"]).toBe(8);
    expect(clip["clip.vision.projection_dim"]).toBe(lm["qwen2vl.embedding_length"]);
    expect(mm.sizeBytes).toBeLessThan(4 * 1024 * 1024);
    expect(familyOfProjector("qwen2.5vl_merger", clip)?.id).toBe("qwen2.5-vl");
    expect(rule.architectures).toContain(llm.architecture);
    expect(rule.imageTokens(clip, 1024, 768)).toBe(1001);
  });
});
