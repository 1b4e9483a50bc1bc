import fs from "node:fs";
import path from "node:path";
import { buildBpeVocab, printableTypes, type BpeVocab } from "../bpe-vocab";
import { writeDecoderGguf } from "../decoder";
import { randomWeights } from "../random-pair";
import { visionTower } from "../vision-tower";
import type { ReplicaFiles } from "./types";

/**
 * SmolVLM2-2.2B-Instruct (ggml-org/SmolVLM2-2.2B-Instruct-GGUF), tiny and
 * random: a `llama` language model (SmolLM2) with a byte-level BPE
 * vocabulary and the "smollm" pre-tokenizer, SmolVLM's image tokens
 * (<fake_token_around_image>, <global-img>, <row_R_col_C>) and turn end
 * (<end_of_utterance>); and the `idefics3` projector with the real
 * preprocessing: SigLIP tiles of 384 px / patch 14 (27 × 27 patches),
 * pixel shuffle by 3 (81 tokens a tile), images first resized so their
 * longest edge is `preproc_image_size` = 1536 (size.longest_edge of the
 * model's preprocessor_config), then cut into 384 px tiles plus one 384 px
 * global view.
 */

const ROWS = 6;
const SPECIALS = [
  "<|endoftext|>",
  "<|im_start|>",
  "<|im_end|>",
  "<fake_token_around_image>",
  "<image>",
  "<global-img>",
  ...Array.from({ length: ROWS * ROWS }, (_, i) => `<row_${Math.floor(i / ROWS) + 1}_col_${(i % ROWS) + 1}>`),
  "<end_of_utterance>",
];

/**
 * SmolVLM's turn format, written for this project:
 * "<|im_start|>User: …<end_of_utterance>\nAssistant: …<end_of_utterance>\n",
 * generation prompt "Assistant:".
 */
export const SMOLVLM_CHAT_TEMPLATE =
  "<|im_start|>" +
  "{%- for message in messages -%}" +
  "{{ ('Assistant' if message['role'] == 'assistant' else ('System' if message['role'] == 'system' else 'User')) + ': ' }}" +
  "{{ message['content'] + '<end_of_utterance>\\n' }}" +
  "{%- endfor -%}" +
  "{%- if add_generation_prompt -%}{{ 'Assistant:' }}{%- endif -%}";

/** The vocabulary plus "\n\n" as one token (SmolLM2 has it; libmtmd looks it up for the global view's prefix). */
function smolVocab(): BpeVocab {
  const vocab = buildBpeVocab({ pre: "smollm", specials: SPECIALS, bos: "<|im_start|>", eos: "<end_of_utterance>", pad: "<|im_end|>" });
  const nl = "\u010a"; // GPT-2's spelling of byte 0x0a
  return { ...vocab, tokens: [...vocab.tokens, nl + nl], types: [...vocab.types, 1], merges: [...vocab.merges, `${nl} ${nl}`] };
}

const N_EMBD = 64;


export function writeReplica(dir: string): ReplicaFiles {
  fs.mkdirSync(dir, { recursive: true });
  const llm = path.join(dir, "smolvlm-replica.gguf");
  const mmproj = path.join(dir, "mmproj-smolvlm-replica.gguf");
  const vocab = smolVocab();
  const weights = randomWeights(5, { types: printableTypes(vocab) });

  if (!fs.existsSync(llm)) {
    writeDecoderGguf(
      llm,
      {
        arch: "llama",
        name: "SmolVLM2-replica",
        vocab,
        nEmbd: N_EMBD,
        nLayer: 2,
        nHead: 4,
        nHeadKv: 4,
        nFf: 128,
        contextLength: 8192,
        ropeFreqBase: 130000,
        rmsEps: 1e-5,
        tensorType: "F32",
        // SmolLM2 ties the head to token_embd; a separate head lets the
        // random weights keep control tokens out of the answers.
        tiedOutput: false,
        chatTemplate: SMOLVLM_CHAT_TEMPLATE,
        // The template writes <|im_start|> itself.
        addBos: false,
      },
      weights,
    );
  }

  if (!fs.existsSync(mmproj)) {
    const d = 32;
    const scale = 3;
    const { w, add } = visionTower(
      {
        name: "SmolVLM2-replica-mmproj",
        projectorType: "idefics3",
        imageSize: 384,
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
        positions: Math.floor(384 / 14) ** 2,
        postLn: true,
      },
      weights,
    );
    w.set("clip.vision.projector.scale_factor", "u32", scale).set("clip.vision.preproc_image_size", "u32", 1536);
    // Pixel shuffle stacks scale² patches, then one linear layer to the LLM width.
    add("mm.model.fc.weight", [d * scale * scale, N_EMBD], "F32");
    w.write(mmproj);
  }
  return { llm, mmproj };
}
