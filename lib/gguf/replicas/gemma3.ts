import fs from "node:fs";
import path from "node:path";
import { writeDecoderGguf } from "../decoder";
import { randomWeights } from "../random-pair";
import { buildSpmVocab } from "../spm-vocab";
import { visionTower } from "../vision-tower";
import type { ReplicaFiles } from "./types";

/**
 * Gemma 3 (gemma-3-4b-it as ggml-org/gemma-3-4b-it-GGUF ships it), tiny and
 * random: the `gemma3` language model with its extra norms (q/k norms, post
 * attention and post FFN norms), interleaved sliding-window attention (five
 * local layers, then one global) and linear RoPE scaling; an SPM vocabulary
 * with Gemma's turn and image tokens; and the `gemma3` projector: a SigLIP
 * tower at the real 896 px / patch 14 (64 × 64 patches), average-pooled 4 × 4
 * to 256 tokens, RMS-normed and projected. libmtmd wraps those 256
 * embeddings in <start_of_image> … <end_of_image>, so one image costs 258
 * tokens whatever its size (no pan-and-scan in llama.cpp).
 */

/** Turn and image tokens of the real vocabulary (ids differ: the vocabulary is tiny). */
const SPECIALS = ["<pad>", "<start_of_turn>", "<end_of_turn>", "<start_of_image>", "<end_of_image>", "<image_soft_token>"];

/**
 * Gemma's turn format, written for this project: a system message is folded
 * into the first user turn, assistant turns are "model" turns. BOS is not in
 * the template: the runtimes add it (add_bos_token).
 */
export const GEMMA3_CHAT_TEMPLATE =
  "{%- if messages[0]['role'] == 'system' -%}" +
  "{%- set prefix = messages[0]['content'] + '\\n\\n' -%}{%- set turns = messages[1:] -%}" +
  "{%- else -%}{%- set prefix = '' -%}{%- set turns = messages -%}{%- endif -%}" +
  "{%- for message in turns -%}" +
  "{{ '<start_of_turn>' + ('model' if message['role'] == 'assistant' else 'user') + '\\n' }}" +
  "{{ (prefix if loop.first else '') + (message['content'] | trim) + '<end_of_turn>\\n' }}" +
  "{%- endfor -%}" +
  "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\\n' }}{%- endif -%}";

const N_EMBD = 64;

export function writeReplica(dir: string): ReplicaFiles {
  fs.mkdirSync(dir, { recursive: true });
  const llm = path.join(dir, "gemma3-replica.gguf");
  const mmproj = path.join(dir, "mmproj-gemma3-replica.gguf");
  const vocab = buildSpmVocab({ specials: SPECIALS });
  // Gemma spells its BOS/EOS "<bos>"/"<eos>".
  vocab.tokens[vocab.bos] = "<bos>";
  vocab.tokens[vocab.eos] = "<eos>";
  const weights = randomWeights(3, vocab);

  if (!fs.existsSync(llm)) {
    writeDecoderGguf(
      llm,
      {
        arch: "gemma3",
        name: "gemma-3-replica",
        vocab,
        nEmbd: N_EMBD,
        // Six layers so the real pattern shows: layers 0-4 sliding, layer 5 global.
        nLayer: 6,
        nHead: 2,
        nHeadKv: 1,
        headDim: 32,
        nFf: 128,
        contextLength: 131072,
        ropeFreqBase: 1_000_000,
        rmsEps: 1e-6,
        tensorType: "F32",
        // The real model ties the head to token_embd; a separate head lets the
        // random weights keep control tokens out of the answers.
        tiedOutput: false,
        chatTemplate: GEMMA3_CHAT_TEMPLATE,
        addBos: true,
        meta: (w, key) => {
          w.set(key("attention.sliding_window"), "u32", 1024)
            .set(key("rope.scaling.type"), "string", "linear")
            .set(key("rope.scaling.factor"), "f32", 8);
        },
        layerTensors: (_i, { headDim, nEmbd }) => [
          ["attn_q_norm.weight", [headDim]],
          ["attn_k_norm.weight", [headDim]],
          ["post_attention_norm.weight", [nEmbd]],
          ["post_ffw_norm.weight", [nEmbd]],
        ],
      },
      weights,
    );
  }

  if (!fs.existsSync(mmproj)) {
    const d = 32;
    const { w, add } = visionTower(
      {
        name: "gemma-3-replica-mmproj",
        projectorType: "gemma3",
        // SigLIP-So400m at 896 px, as in gemma-3-4b-it's mmproj.
        imageSize: 896,
        patchSize: 14,
        d,
        ff: 64,
        nLayer: 1,
        nHead: 2,
        eps: 1e-6,
        projDim: N_EMBD,
        imageMean: [0.5, 0.5, 0.5],
        imageStd: [0.5, 0.5, 0.5],
        tensorType: "F32",
        positions: (896 / 14) ** 2,
        postLn: true,
      },
      weights,
    );
    // clip.cpp's gemma3 projector: pool → RMS norm (soft_emb_norm) → input_projection ([llm width, tower width]).
    add("mm.soft_emb_norm.weight", [d], "F32");
    add("mm.input_projection.weight", [N_EMBD, d], "F32");
    w.write(mmproj);
  }
  return { llm, mmproj };
}
