import fs from "node:fs";
import path from "node:path";
import { buildBpeVocab, printableTypes } from "../bpe-vocab";
import { writeDecoderGguf } from "../decoder";
import { randomWeights } from "../random-pair";
import { visionTower } from "../vision-tower";
import type { ReplicaFiles } from "./types";

/**
 * Pixtral replica, laid out like Pixtral-12B-2409 as llama.cpp's converter
 * writes it (mistral-community/pixtral-12b → ggml-org/pixtral-12b-GGUF):
 *
 * - LLM: `general.architecture` "llama" (Mistral NeMo: explicit head_dim
 *   that is not width / heads, GQA 4:1, rope base 1e9, 1M context), Tekken
 *   byte-level BPE ("gpt2" model, pre "tekken") with Tekken's leading
 *   control tokens (<unk> <s> </s> [INST] [/INST] … [IMG] <pad> [IMG_BREAK]
 *   [IMG_END] …), and a `[INST]…[/INST]` chat template.
 * - mmproj: projector "pixtral": a 2D-RoPE ViT (patch 16, no patch bias, RMS
 *   norms incl. ln_pre, SwiGLU with SiLU, no biases), image_size 1024 (the
 *   real max side), the adapter mm.1 → GELU → mm.2 with biases, and the
 *   [IMG_BREAK] embedding `v.token_embd.img_break`. Pixtral-12B has no
 *   patch merger, so no `clip.vision.spatial_merge_size` (Mistral Small
 *   3.1 would add it = 2 plus `mm.input_norm` / `mm.patch_merger`).
 *
 * Widths are tiny (tower 32, LLM 64).
 */
export const TEKKEN_SPECIALS = [
  "<unk>",
  "<s>",
  "</s>",
  "[INST]",
  "[/INST]",
  "[AVAILABLE_TOOLS]",
  "[/AVAILABLE_TOOLS]",
  "[TOOL_RESULTS]",
  "[/TOOL_RESULTS]",
  "[TOOL_CALLS]",
  "[IMG]",
  "<pad>",
  "[IMG_BREAK]",
  "[IMG_END]",
  "[PREFIX]",
  "[MIDDLE]",
  "[SUFFIX]",
  "[SYSTEM_PROMPT]",
  "[/SYSTEM_PROMPT]",
  "[TOOL_CONTENT]",
] as const;

/** Mistral Tekken turns (no spaces around [INST]); a system message is folded into the first user turn. */
export const TEKKEN_INST_TEMPLATE =
  "{%- if messages[0]['role'] == 'system' -%}" +
  "{%- set system = messages[0]['content'] + '\\n\\n' -%}{%- set turns = messages[1:] -%}" +
  "{%- else -%}{%- set system = '' -%}{%- set turns = messages -%}{%- endif -%}" +
  "{%- for message in turns -%}" +
  "{%- if message['role'] == 'user' -%}" +
  "{{ '[INST]' }}{%- if loop.first -%}{{ system }}{%- endif -%}{{ message['content'] }}{{ '[/INST]' }}" +
  "{%- elif message['role'] == 'assistant' -%}{{ message['content'] }}{{ '</s>' }}" +
  "{%- endif -%}" +
  "{%- endfor -%}" +
  // The answer follows "[/INST]" directly: the generation prompt adds nothing.
  "{%- if add_generation_prompt -%}{%- endif -%}";

export function writeReplica(dir: string): ReplicaFiles {
  fs.mkdirSync(dir, { recursive: true });
  const llm = path.join(dir, "pixtral-replica.gguf");
  const mmproj = path.join(dir, "mmproj-pixtral-replica.gguf");
  const vocab = buildBpeVocab({ pre: "tekken", specials: TEKKEN_SPECIALS, bos: "<s>", eos: "</s>", pad: "<pad>" });
  const weights = randomWeights(12, { types: printableTypes(vocab) });
  const nEmbd = 64;

  if (!fs.existsSync(llm)) {
    writeDecoderGguf(
      llm,
      {
        arch: "llama",
        name: "pixtral-12b-replica",
        vocab,
        nEmbd,
        nLayer: 2,
        nHead: 4,
        nHeadKv: 1,
        headDim: 32,
        nFf: 128,
        contextLength: 1_024_000,
        ropeFreqBase: 1_000_000_000,
        rmsEps: 1e-5,
        tensorType: "F32",
        tiedOutput: false,
        chatTemplate: TEKKEN_INST_TEMPLATE,
        addBos: true,
      },
      weights,
    );
  }

  if (!fs.existsSync(mmproj)) {
    const d = 32;
    const { w, add } = visionTower(
      {
        name: "pixtral-12b-replica-mmproj",
        projectorType: "pixtral",
        imageSize: 1024,
        patchSize: 16,
        d,
        ff: 64,
        nLayer: 1,
        nHead: 2,
        eps: 1e-5,
        projDim: nEmbd,
        imageMean: [0.48145466, 0.4578275, 0.40821073],
        imageStd: [0.26862954, 0.26130258, 0.27577711],
        tensorType: "F32",
        positions: 0,
        patchBias: false,
        preLn: true,
        gatedFfn: true,
        norm: "rms",
        biases: false,
        act: "silu",
      },
      weights,
    );
    add("mm.1.weight", [d, nEmbd]);
    add("mm.1.bias", [nEmbd]);
    add("mm.2.weight", [nEmbd, nEmbd]);
    add("mm.2.bias", [nEmbd]);
    add("v.token_embd.img_break", [nEmbd]);
    w.write(mmproj);
  }
  return { llm, mmproj };
}
