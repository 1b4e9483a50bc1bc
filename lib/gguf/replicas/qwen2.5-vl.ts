import fs from "node:fs";
import path from "node:path";
import { buildBpeVocab, printableTypes } from "../bpe-vocab";
import { CHATML_TEMPLATE } from "../chat-template";
import { writeDecoderGguf } from "../decoder";
import { randomWeights } from "../random-pair";
import { visionTower } from "../vision-tower";
import type { ReplicaFiles } from "./types";

/**
 * Qwen2.5-VL (3B / 7B Instruct) as `convert_hf_to_gguf.py` writes it
 * (`conversion/qwenvl.py`), shrunk to a few hundred kilobytes:
 *
 * - LLM: architecture `qwen2vl` (M-RoPE; `rope.dimension_sections` scaled
 *   from the real [16, 24, 24, 0] for 128-wide heads to 64-wide ones), q/k/v
 *   biases, untied output head (as the 7B), byte-level BPE with the `qwen2`
 *   pre-tokenizer and the Qwen2.5-VL control tokens (ChatML turns,
 *   `<|vision_start|>` / `<|vision_end|>` that libmtmd puts around every
 *   image, `<|image_pad|>`…), BOS not added.
 * - mmproj: `clip.projector_type` "qwen2.5vl_merger", patch 14, image_size
 *   560 (the converter's default; unused by the dynamic-resolution
 *   preprocessor), no `spatial_merge_size` key (clip.cpp's default 2),
 *   `n_wa_pattern` 8 (the real fullatt_block_indexes [7, 15, 23, 31]),
 *   SiLU gated FFN, RMS norms, the split temporal patch embedding
 *   (`v.patch_embd.weight` + `.weight.1`, no bias), merger norm `v.post_ln`
 *   and the two merger matrices `mm.0` / `mm.2`. The image size limits are
 *   not in the file: clip.cpp fixes them at 8…4096 merged tokens.
 */

const SPECIALS = [
  "<|endoftext|>",
  "<|im_start|>",
  "<|im_end|>",
  "<|object_ref_start|>",
  "<|object_ref_end|>",
  "<|box_start|>",
  "<|box_end|>",
  "<|quad_start|>",
  "<|quad_end|>",
  "<|vision_start|>",
  "<|vision_end|>",
  "<|vision_pad|>",
  "<|image_pad|>",
  "<|video_pad|>",
];

const N_EMBD = 128;

export function writeReplica(dir: string): ReplicaFiles {
  fs.mkdirSync(dir, { recursive: true });
  const llm = path.join(dir, "qwen2.5-vl-replica.gguf");
  const mmproj = path.join(dir, "mmproj-qwen2.5-vl-replica.gguf");
  const vocab = buildBpeVocab({ pre: "qwen2", specials: SPECIALS, bos: "<|endoftext|>", eos: "<|im_end|>", pad: "<|endoftext|>" });
  const weights = randomWeights(25, { types: printableTypes(vocab) });

  if (!fs.existsSync(llm)) {
    writeDecoderGguf(
      llm,
      {
        arch: "qwen2vl",
        name: "Qwen2.5-VL replica",
        vocab,
        nEmbd: N_EMBD,
        nLayer: 2,
        nHead: 2,
        nHeadKv: 1,
        nFf: 256,
        contextLength: 128000,
        ropeFreqBase: 1000000,
        rmsEps: 1e-6,
        tensorType: "F16",
        tiedOutput: false,
        chatTemplate: CHATML_TEMPLATE,
        addBos: false,
        qkvBias: true,
        // 64-wide heads → 32 rotary pairs, split t/h/w like the real 16/24/24 of 64.
        meta: (w, key) => w.setArray(key("rope.dimension_sections"), "i32", [8, 12, 12, 0]),
      },
      weights,
    );
  }

  if (!fs.existsSync(mmproj)) {
    const d = 32;
    const patch = 14;
    const { w, add } = visionTower(
      {
        name: "Qwen2.5-VL replica mmproj",
        projectorType: "qwen2.5vl_merger",
        imageSize: 560,
        patchSize: patch,
        d,
        ff: 64,
        nLayer: 1,
        nHead: 2,
        eps: 1e-6,
        projDim: N_EMBD,
        imageMean: [0.48145466, 0.4578275, 0.40821073],
        imageStd: [0.26862954, 0.26130258, 0.27577711],
        tensorType: "F16",
        positions: 0,
        patchBias: false,
        postLn: true,
        gatedFfn: true,
        norm: "rms",
        biases: true,
        act: "silu",
      },
      weights,
    );
    w.set("general.type", "string", "mmproj").set("clip.vision.n_wa_pattern", "u32", 8);
    // The second half of the Conv3D patch embedding (temporal patch 2), split by the converter.
    add("v.patch_embd.weight.1", [patch, patch, 3, d], "F16");
    // Merger: 2×2 neighbouring patches concatenated (4d) → 4d → LLM width.
    add("mm.0.weight", [4 * d, 4 * d]);
    add("mm.0.bias", [4 * d]);
    add("mm.2.weight", [4 * d, N_EMBD]);
    add("mm.2.bias", [N_EMBD]);
    w.write(mmproj);
  }
  return { llm, mmproj };
}
