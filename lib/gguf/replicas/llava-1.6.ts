import fs from "node:fs";
import path from "node:path";
import { writeDecoderGguf } from "../decoder";
import { randomWeights } from "../random-pair";
import { buildSpmVocab } from "../spm-vocab";
import { visionTower } from "../vision-tower";
import type { ReplicaFiles } from "./types";

/**
 * LLaVA-1.6 ("LLaVA-NeXT") replica, laid out like llava-v1.6-mistral-7b as
 * llama.cpp's legacy llava converter writes it (the GGUFs people run, e.g.
 * cjpais/llava-v1.6-mistral-7b-gguf):
 *
 * - LLM: `general.architecture` "llama" (Mistral-7B-Instruct-v0.2: GQA 4:1,
 *   rope base 1e6, 32k context), SentencePiece ("llama") tokenizer with only
 *   <unk>/<s>/</s> as control tokens — "[INST]" and "[/INST]" are plain text
 *   in that vocabulary — and a Mistral `[INST] … [/INST]` chat template.
 * - mmproj: projector "mlp" (mm.0 → GELU → mm.2) behind a CLIP ViT-L/14 at
 *   336 px (class embedding, pre-LN, quick-GELU, position table of 577),
 *   anyres metadata: `clip.vision.image_grid_pinpoints` = the real model's
 *   [336×672, 672×336, 672×672, 1008×336, 336×1008],
 *   `mm_patch_merge_type` "spatial_unpad", `image_aspect_ratio` "anyres",
 *   and the `model.image_newline` tensor.
 *
 * Widths are tiny (tower 32, LLM 64); block_count counts one more block than
 * runs, as the converter does (clip.cpp's llava graph stops one block early).
 */
export const LLAVA16_PINPOINTS = [336, 672, 672, 336, 672, 672, 1008, 336, 336, 1008] as const;

/** Mistral v0.2 turns; a system message is folded into the first user turn (Mistral has no system role). */
export const MISTRAL_INST_TEMPLATE =
  "{%- if messages[0]['role'] == 'system' -%}" +
  "{%- set system = messages[0]['content'] + '\\n\\n' -%}{%- set turns = messages[1:] -%}" +
  "{%- else -%}{%- set system = '' -%}{%- set turns = messages -%}{%- endif -%}" +
  "{%- for message in turns -%}" +
  "{%- if message['role'] == 'user' -%}" +
  "{{ '[INST] ' }}{%- if loop.first -%}{{ system }}{%- endif -%}{{ message['content'] }}{{ ' [/INST]' }}" +
  "{%- elif message['role'] == 'assistant' -%}{{ ' ' }}{{ message['content'] }}{{ '</s>' }}" +
  "{%- endif -%}" +
  "{%- endfor -%}" +
  // The answer follows "[/INST]" directly: the generation prompt adds nothing.
  "{%- if add_generation_prompt -%}{%- endif -%}";

export function writeReplica(dir: string): ReplicaFiles {
  fs.mkdirSync(dir, { recursive: true });
  const llm = path.join(dir, "llava-1.6-replica.gguf");
  const mmproj = path.join(dir, "mmproj-llava-1.6-replica.gguf");
  const vocab = buildSpmVocab();
  const weights = randomWeights(16, vocab);
  const nEmbd = 64;

  if (!fs.existsSync(llm)) {
    writeDecoderGguf(
      llm,
      {
        arch: "llama",
        name: "llava-1.6-mistral-replica",
        vocab,
        nEmbd,
        nLayer: 2,
        nHead: 4,
        nHeadKv: 1,
        nFf: 128,
        contextLength: 32768,
        ropeFreqBase: 1_000_000,
        rmsEps: 1e-5,
        tensorType: "F32",
        tiedOutput: false,
        chatTemplate: MISTRAL_INST_TEMPLATE,
        addBos: true,
      },
      weights,
    );
  }

  if (!fs.existsSync(mmproj)) {
    const imageSize = 336;
    const patchSize = 14;
    const d = 32;
    const { w, add } = visionTower(
      {
        name: "llava-1.6-mistral-replica-mmproj",
        projectorType: "mlp",
        imageSize,
        patchSize,
        d,
        ff: 64,
        nLayer: 2,
        nHead: 2,
        eps: 1e-5,
        projDim: nEmbd,
        imageMean: [0.48145466, 0.4578275, 0.40821073],
        imageStd: [0.26862954, 0.26130258, 0.27577711],
        tensorType: "F32",
        positions: (imageSize / patchSize) ** 2 + 1,
        classEmbd: true,
        patchBias: false,
        preLn: true,
        postLn: false,
      },
      weights,
    );
    // CLIP's quick-GELU: the converter writes use_gelu = false.
    w.set("clip.use_gelu", "bool", false)
      .set("clip.has_llava_projector", "bool", true)
      .setArray("clip.vision.image_grid_pinpoints", "i32", LLAVA16_PINPOINTS)
      .set("clip.vision.image_aspect_ratio", "string", "anyres")
      .set("clip.vision.mm_patch_merge_type", "string", "spatial_unpad");
    add("mm.0.weight", [d, nEmbd]);
    add("mm.0.bias", [nEmbd]);
    add("mm.2.weight", [nEmbd, nEmbd]);
    add("mm.2.bias", [nEmbd]);
    add("model.image_newline", [nEmbd]);
    w.write(mmproj);
  }
  return { llm, mmproj };
}
