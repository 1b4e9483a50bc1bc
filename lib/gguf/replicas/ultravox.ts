import fs from "node:fs";
import path from "node:path";
import { audioTower } from "../audio-tower";
import { buildBpeVocab, printableTypes } from "../bpe-vocab";
import { writeDecoderGguf } from "../decoder";
import { FILE_TYPE, GgufWriter } from "../gguf-writer";
import { randomWeights } from "../random-pair";
import type { ReplicaFiles } from "./types";

/**
 * Ultravox v0.5 (Llama-3.2-1B / 3B + Whisper-large-v3-turbo encoder) as
 * `convert_hf_to_gguf.py` writes it (`conversion/ultravox.py`), shrunk:
 *
 * - LLM: Ultravox has no text decoder of its own; its GGUF is the Llama 3.2
 *   it was trained on (architecture `llama`, byte-level BPE with the
 *   `llama-bpe` pre-tokenizer, Llama 3 header tokens and chat template, BOS
 *   added).
 * - mmproj: audio only (`clip.has_vision_encoder` false, no `v.*`),
 *   `clip.projector_type` "ultravox", `clip.audio.projector.stack_factor` 4
 *   (the real models' 8 crashes this llama.cpp, see ULTRAVOX_STACK_FACTOR), 128 mel bins, a Whisper encoder (see audio-tower.ts) and
 *   the Ultravox projector: RMS pre-norm over the stacked frames
 *   `mm.a.norm_pre`, `mm.a.mlp.1` (d·4 → H), SwiGLU (H → H/2), RMS mid-norm
 *   `mm.a.norm_mid`, `mm.a.mlp.2` (H/2 → LLM width), no biases.
 *
 * One 30 s chunk of audio (3000 mel frames) costs 3000 / 4 / 2 = 375 tokens
 * and libmtmd adds no text around them.
 */

const SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"];

/** Llama 3's turns, without the date preamble of the 3.2 template. */
export const LLAMA3_CHAT_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}" +
  "<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n" +
  "{% if message['content'] is string %}{{ message['content'] }}" +
  "{% else %}{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}" +
  "<|eot_id|>{% endfor %}" +
  "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}";

const N_EMBD = 128;
/**
 * The real models stack 8 frames, but with 8 this llama.cpp aborts on every
 * clip: a 30 s chunk is 1500 frames after the convolutions, the graph pads
 * them to 1504 and stacks 188 rows, while `clip_n_output_tokens` counts
 * 3000 / 8 / 2 = 187 ("clip_encode: expected output 187 tokens, got 188",
 * GGML_ABORT "Invalid number of output tokens", clip.cpp:5764). 4 (Voxtral's
 * factor) divides 1500, so both agree: 3000 / 4 / 2 = 375 tokens a chunk.
 */
export const ULTRAVOX_STACK_FACTOR = 4;

export function writeReplica(dir: string): ReplicaFiles {
  fs.mkdirSync(dir, { recursive: true });
  const llm = path.join(dir, "ultravox-replica.gguf");
  const mmproj = path.join(dir, "mmproj-ultravox-replica.gguf");
  const vocab = buildBpeVocab({ pre: "llama-bpe", specials: SPECIALS, bos: "<|begin_of_text|>", eos: "<|eot_id|>" });
  const weights = randomWeights(31, { types: printableTypes(vocab) });

  if (!fs.existsSync(llm)) {
    writeDecoderGguf(
      llm,
      {
        arch: "llama",
        name: "Ultravox replica",
        vocab,
        nEmbd: N_EMBD,
        nLayer: 2,
        nHead: 2,
        nHeadKv: 1,
        nFf: 256,
        contextLength: 131072,
        ropeFreqBase: 500000,
        rmsEps: 1e-5,
        tensorType: "F16",
        tiedOutput: false,
        chatTemplate: LLAMA3_CHAT_TEMPLATE,
        addBos: true,
      },
      weights,
    );
  }

  if (!fs.existsSync(mmproj)) {
    const w = new GgufWriter();
    w.set("general.architecture", "string", "clip")
      .set("general.type", "string", "mmproj")
      .set("general.name", "string", "Ultravox replica mmproj")
      .set("general.file_type", "u32", FILE_TYPE.F16)
      .set("clip.projector_type", "string", "ultravox")
      .set("clip.has_vision_encoder", "bool", false)
      .set("clip.has_text_encoder", "bool", false)
      .set("clip.use_gelu", "bool", true)
      .set("clip.audio.projector.stack_factor", "u32", ULTRAVOX_STACK_FACTOR);
    const d = 32;
    const { add } = audioTower(w, { d, ff: 64, nLayer: 1, nHead: 2, eps: 1e-5, nMel: 128, projDim: N_EMBD, tensorType: "F16" }, weights);
    const hidden = 256;
    add("mm.a.norm_pre.weight", [d * ULTRAVOX_STACK_FACTOR], "F32");
    add("mm.a.mlp.1.weight", [d * ULTRAVOX_STACK_FACTOR, hidden]);
    add("mm.a.norm_mid.weight", [hidden / 2], "F32");
    add("mm.a.mlp.2.weight", [hidden / 2, N_EMBD]);
    w.write(mmproj);
  }
  return { llm, mmproj };
}
