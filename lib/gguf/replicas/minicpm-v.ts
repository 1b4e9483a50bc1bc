import fs from "node:fs";
import path from "node:path";
import { buildBpeVocab, printableTypes } from "../bpe-vocab";
import { CHATML_TEMPLATE } from "../chat-template";
import { writeDecoderGguf } from "../decoder";
import { randomWeights } from "../random-pair";
import { visionTower } from "../vision-tower";
import type { ReplicaFiles } from "./types";

/**
 * MiniCPM-V 2.6 as openbmb/MiniCPM-V-2_6-gguf ships it (LLM from
 * `convert_hf_to_gguf.py`, mmproj from
 * `tools/mtmd/legacy-models/minicpmv-convert-image-encoder-to-gguf.py
 * --minicpmv_version 3`), shrunk to a few megabytes:
 *
 * - LLM: architecture `qwen2` (Qwen2-7B underneath) with q/k/v biases,
 *   untied output head, byte-level BPE with the `qwen2` pre-tokenizer,
 *   ChatML control tokens and the markers libmtmd looks up for version 3
 *   (`<image>`, `</image>`, `<slice>`, `</slice>`; rows are separated by the
 *   "\n" byte token), BOS not added. Width 128: the resampler's heads are
 *   fixed at 128 wide in clip.cpp, so the width must be a multiple of 128.
 * - mmproj: `clip.projector_type` "resampler", `clip.minicpmv_version` 3
 *   (i32, as the script writes it), `clip.minicpmv_query_num` 64,
 *   `clip.has_minicpmv_projector`, image_size 448 (the slice size), patch 14,
 *   `projection_dim` 0 (the script writes 0; clip.cpp takes the width from
 *   `resampler.proj.weight`), mean/std 0.5, GELU. The SigLIP tower has
 *   patch bias, a learned 70×70 = 4900-row `v.position_embd.weight`
 *   (clip.cpp buckets any patch grid into it), no pre-norm and `v.post_ln`.
 *   The resampler: 64 learned queries, kv projection, q/k/v/out attention
 *   with biases, three layer norms, the output projection and the
 *   2-D sin-cos `resampler.pos_embed_k` table the script adds (70×70 rows).
 */

const SPECIALS = [
  "<|endoftext|>",
  "<|im_start|>",
  "<|im_end|>",
  "<unk>",
  "<image>",
  "</image>",
  "<ref>",
  "</ref>",
  "<box>",
  "</box>",
  "<quad>",
  "</quad>",
  "<point>",
  "</point>",
  "<slice>",
  "</slice>",
  "<image_id>",
  "</image_id>",
];

const N_EMBD = 128;
/** SigLIP's position table (70 × 70 buckets) and the resampler's sin-cos table of the same grid. */
const POSITIONS = 70 * 70;
const QUERIES = 64;

/** 2-D sin-cos position embedding (MAE style, as the conversion script builds `pos_embed_k`). */
function sinCos2d(dim: number, grid: number): Float32Array {
  const out = new Float32Array(grid * grid * dim);
  const half = dim / 2;
  const quarter = half / 2;
  const oneD = (pos: number, o: number, row: number) => {
    for (let i = 0; i < quarter; i++) {
      const omega = 1 / Math.pow(10000, i / quarter);
      out[row * dim + o + i] = Math.sin(pos * omega);
      out[row * dim + o + quarter + i] = Math.cos(pos * omega);
    }
  };
  for (let h = 0; h < grid; h++) {
    for (let w = 0; w < grid; w++) {
      const row = h * grid + w;
      oneD(w, 0, row);
      oneD(h, half, row);
    }
  }
  return out;
}

export function writeReplica(dir: string): ReplicaFiles {
  fs.mkdirSync(dir, { recursive: true });
  const llm = path.join(dir, "minicpm-v-replica.gguf");
  const mmproj = path.join(dir, "mmproj-minicpm-v-replica.gguf");
  const vocab = buildBpeVocab({ pre: "qwen2", specials: SPECIALS, bos: "<|im_start|>", eos: "<|im_end|>", pad: "<|endoftext|>" });
  const random = randomWeights(26, { types: printableTypes(vocab) });
  // The resampler's layer norms start as identity scales, like the tower's.
  const weights = (name: string, shape: number[]) =>
    /^resampler\.ln_\w+\.weight$/.test(name) ? new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(1) : random(name, shape);

  if (!fs.existsSync(llm)) {
    writeDecoderGguf(
      llm,
      {
        arch: "qwen2",
        name: "MiniCPM-V 2.6 replica",
        vocab,
        nEmbd: N_EMBD,
        nLayer: 2,
        nHead: 2,
        nHeadKv: 1,
        nFf: 256,
        contextLength: 32768,
        ropeFreqBase: 1000000,
        rmsEps: 1e-6,
        tensorType: "F16",
        tiedOutput: false,
        chatTemplate: CHATML_TEMPLATE,
        addBos: false,
        qkvBias: true,
      },
      weights,
    );
  }

  if (!fs.existsSync(mmproj)) {
    const d = 32;
    const { w, add } = visionTower(
      {
        name: "MiniCPM-V 2.6 replica mmproj",
        projectorType: "resampler",
        imageSize: 448,
        patchSize: 14,
        d,
        ff: 64,
        nLayer: 1,
        nHead: 2,
        eps: 1e-6,
        // The script writes 0 here; the real width comes from resampler.proj.weight.
        projDim: 0,
        imageMean: [0.5, 0.5, 0.5],
        imageStd: [0.5, 0.5, 0.5],
        tensorType: "F16",
        positions: POSITIONS,
        patchBias: true,
        postLn: true,
        act: "gelu",
      },
      weights,
    );
    w.set("clip.has_minicpmv_projector", "bool", true)
      .set("clip.minicpmv_version", "i32", 3)
      .set("clip.minicpmv_query_num", "u32", QUERIES);
    w.addTensor("resampler.pos_embed_k", [N_EMBD, POSITIONS], "F32", () => sinCos2d(N_EMBD, 70));
    add("resampler.query", [N_EMBD, QUERIES], "F32");
    add("resampler.kv.weight", [d, N_EMBD]);
    for (const p of ["q", "k", "v", "out"]) {
      add(`resampler.attn.${p}.weight`, [N_EMBD, N_EMBD]);
      add(`resampler.attn.${p}.bias`, [N_EMBD]);
    }
    for (const p of ["q", "kv", "post"]) {
      add(`resampler.ln_${p}.weight`, [N_EMBD]);
      add(`resampler.ln_${p}.bias`, [N_EMBD]);
    }
    add("resampler.proj.weight", [N_EMBD, N_EMBD]);
    w.write(mmproj);
  }
  return { llm, mmproj };
}
