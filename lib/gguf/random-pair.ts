import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { clipImageTokens, writeClipGguf, writeLlamaGguf, type ClipSpec, type LlamaSpec } from "./llava-files";
import { buildSpmVocab, fillerPieces } from "./spm-vocab";

/**
 * Deterministic random-weight LLaVA pairs for tests and benchmarks. Random
 * weights answer gibberish but run at exactly the speed of trained ones and
 * exercise every code path (tokenizer, chat template, vision encoder,
 * projector). Same preset + seed → byte-identical files.
 */
export type RandomPairPreset = "tiny" | "realistic";

export interface RandomPairSpec {
  llm: LlamaSpec;
  clip: ClipSpec;
}

export function randomPairSpec(preset: RandomPairPreset): RandomPairSpec {
  if (preset === "tiny") {
    const nEmbd = 64;
    return {
      llm: {
        name: "random-tiny-llava",
        vocab: buildSpmVocab(),
        nEmbd,
        nLayer: 2,
        nHead: 4,
        nHeadKv: 2,
        nFf: 128,
        // Trained context as llama-server sees it: it caps every slot there, and the
        // e2e "slow" app needs answers of tens of thousands of tokens.
        contextLength: 65536,
        ropeFreqBase: 10000,
        rmsEps: 1e-5,
        tensorType: "F32",
        tiedOutput: false,
      },
      clip: {
        name: "random-tiny-llava-mmproj",
        imageSize: 32,
        patchSize: 8,
        nEmbd: 64,
        nFf: 128,
        nLayer: 1,
        nHead: 4,
        eps: 1e-5,
        projHidden: 64,
        projDim: nEmbd,
        imageMean: [0.5, 0.5, 0.5],
        imageStd: [0.5, 0.5, 0.5],
        classEmbd: false,
        tensorType: "F32",
      },
    };
  }
  // About 0.5 B parameters (Qwen2-0.5B / TinyLlama class) and a ViT-B/16 at 224 px.
  const nEmbd = 1024;
  return {
    llm: {
      name: "random-realistic-llava",
      vocab: buildSpmVocab({ extraPieces: fillerPieces(32000) }),
      nEmbd,
      nLayer: 24,
      nHead: 16,
      nHeadKv: 4,
      nFf: 4864,
      contextLength: 8192,
      ropeFreqBase: 10000,
      rmsEps: 1e-5,
      tensorType: "Q8_0",
      tiedOutput: false,
    },
    clip: {
      name: "random-realistic-llava-mmproj",
      imageSize: 224,
      patchSize: 16,
      nEmbd: 768,
      nFf: 3072,
      nLayer: 11,
      nHead: 12,
      eps: 1e-5,
      projHidden: nEmbd,
      projDim: nEmbd,
      imageMean: [0.48145466, 0.4578275, 0.40821073],
      imageStd: [0.26862954, 0.26130258, 0.27577711],
      classEmbd: true,
      tensorType: "F16",
    },
  };
}

/** mulberry32: a small, fast, seedable PRNG. */
function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Random weights keyed by tensor name, so the order of generation does not
 * matter. The output head is scaled up so greedy decoding has wide logit
 * margins (identical across backends and batch splits despite float
 * rounding), and its rows for control and byte tokens are zero so the
 * model writes printable ASCII that round-trips through re-tokenisation.
 */
export function randomWeights(seed: number, vocab: { types: number[] }) {
  return (name: string, shape: number[]): Float32Array => {
    const count = shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(count);
    if (/norm|ln\d?\.weight|pre_ln\.weight/.test(name)) return out.fill(1);
    const digest = createHash("sha256").update(`${seed}:${name}`).digest();
    const rand = mulberry32(digest.readUInt32LE(0));
    const fanIn = shape.length > 1 ? shape[0]! * (shape.length === 4 ? shape[1]! * shape[2]! : 1) : 64;
    const scale = name.endsWith(".bias") ? 0.02 : Math.sqrt(3 / fanIn);
    const gain = name === "output.weight" ? 4 : 1;
    for (let i = 0; i < count; i++) out[i] = (rand() * 2 - 1) * scale * gain;
    if (name === "output.weight") {
      const width = shape[0]!;
      vocab.types.forEach((type, row) => {
        if (type !== 1) out.fill(0, row * width, (row + 1) * width);
      });
    }
    return out;
  };
}

export interface RandomPairFiles {
  /** The language model (with `splits`, its first part: the file to load). */
  llm: string;
  /** Every file of the language model (one, or its parts). */
  llmParts: string[];
  mmproj: string;
  /** Image tokens one image costs with this projector. */
  imageTokens: number;
  spec: RandomPairSpec;
}

/**
 * Writes (or reuses, when already there) the pair under `dir`. File names
 * follow the common `<name>.gguf` + `mmproj-<name>.gguf` convention.
 */
export function ensureRandomPair({
  dir,
  preset,
  seed = 1,
  splits = 1,
}: {
  dir: string;
  preset: RandomPairPreset;
  seed?: number;
  /** Write the language model as llama.cpp's split form in this many parts (the same weights). */
  splits?: number;
}): RandomPairFiles {
  const spec = randomPairSpec(preset);
  // The trained context is in the name: files of an earlier spec are not reused by mistake.
  const base = `${spec.llm.name}-${spec.llm.contextLength / 1024}k-s${seed}`;
  const whole = path.join(dir, `${base}.gguf`);
  const split = (i: number) => path.join(dir, `${base}-${String(i).padStart(5, "0")}-of-${String(splits).padStart(5, "0")}.gguf`);
  const llmParts = splits > 1 ? Array.from({ length: splits }, (_, i) => split(i + 1)) : [whole];
  const mmproj = path.join(dir, `mmproj-${base}.gguf`);
  fs.mkdirSync(dir, { recursive: true });
  const weights = randomWeights(seed, spec.llm.vocab);
  if (!llmParts.every((f) => fs.existsSync(f))) writeLlamaGguf(whole, spec.llm, weights, { splits });
  if (!fs.existsSync(mmproj)) writeClipGguf(mmproj, spec.clip, weights);
  return { llm: llmParts[0]!, llmParts, mmproj, imageTokens: clipImageTokens(spec.clip), spec };
}
