import fs from "node:fs";
import path from "node:path";
import { audioTower } from "../audio-tower";
import { buildBpeVocab, printableTypes } from "../bpe-vocab";
import { CHATML_TEMPLATE } from "../chat-template";
import { writeDecoderGguf } from "../decoder";
import { randomWeights } from "../random-pair";
import { visionTower } from "../vision-tower";
import type { ReplicaFiles } from "./types";

/**
 * Qwen2.5-Omni (3B / 7B) as `convert_hf_to_gguf.py` writes it
 * (`conversion/qwenvl.py`: Qwen2VLModel for the thinker, Qwen25OmniModel
 * for the mmproj), shrunk:
 *
 * - LLM: the thinker, architecture `qwen2vl` (M-RoPE, sections scaled to
 *   64-wide heads as in the Qwen2.5-VL replica), q/k/v biases, ChatML, and
 *   the Omni control tokens: `<|audio_bos|>` / `<|audio_eos|>` that libmtmd
 *   puts around every audio clip, `<|vision_start|>` / `<|vision_end|>`
 *   around every image.
 * - mmproj: both encoders in one file, `clip.projector_type` "qwen2.5o"
 *   (clip.cpp turns it into "qwen2.5vl_merger" for the vision tower and
 *   "qwen2a" for the audio one), `clip.has_vision_encoder` and
 *   `clip.has_audio_encoder` true; the vision tower of the Qwen2.5-VL
 *   replica (`v.*`, `mm.0` / `mm.2`) and a Whisper encoder (`a.*`, 128 mel
 *   bins, see audio-tower.ts) with the Qwen2-Audio projector `mm.a.fc`
 *   (weight + bias). Its encoder average-pools by 2 after the blocks.
 *
 * One 30 s chunk of audio (3000 mel frames) costs 3000 / 2 / 2 = 750
 * embeddings, plus the two markers once per clip.
 */

const SPECIALS = [
  "<|endoftext|>",
  "<|im_start|>",
  "<|im_end|>",
  "<|AUDIO|>",
  "<|audio_bos|>",
  "<|audio_eos|>",
  "<|box_end|>",
  "<|quad_start|>",
  "<|quad_end|>",
  "<|vision_bos|>",
  "<|vision_eos|>",
  "<|vision_pad|>",
  "<|IMAGE|>",
  "<|VIDEO|>",
  "<|vision_start|>",
  "<|vision_end|>",
  "<|image_pad|>",
  "<|video_pad|>",
];

const N_EMBD = 128;

export function writeReplica(dir: string): ReplicaFiles {
  fs.mkdirSync(dir, { recursive: true });
  const llm = path.join(dir, "qwen2.5-omni-replica.gguf");
  const mmproj = path.join(dir, "mmproj-qwen2.5-omni-replica.gguf");
  const vocab = buildBpeVocab({ pre: "qwen2", specials: SPECIALS, bos: "<|endoftext|>", eos: "<|im_end|>", pad: "<|endoftext|>" });
  const weights = randomWeights(27, { types: printableTypes(vocab) });

  if (!fs.existsSync(llm)) {
    writeDecoderGguf(
      llm,
      {
        arch: "qwen2vl",
        name: "Qwen2.5-Omni replica",
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
        name: "Qwen2.5-Omni replica mmproj",
        projectorType: "qwen2.5o",
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
    add("v.patch_embd.weight.1", [patch, patch, 3, d], "F16");
    add("mm.0.weight", [4 * d, 4 * d]);
    add("mm.0.bias", [4 * d]);
    add("mm.2.weight", [4 * d, N_EMBD]);
    add("mm.2.bias", [N_EMBD]);
    const a = audioTower(w, { d: 48, ff: 96, nLayer: 1, nHead: 2, eps: 1e-5, nMel: 128, projDim: N_EMBD, tensorType: "F16" }, weights);
    a.add("mm.a.fc.weight", [48, N_EMBD]);
    a.add("mm.a.fc.bias", [N_EMBD]);
    w.write(mmproj);
  }
  return { llm, mmproj };
}
