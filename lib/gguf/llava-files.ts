import { LLAVA_CHAT_TEMPLATE } from "./chat-template";
import { writeDecoderGguf } from "./decoder";
import { FILE_TYPE, GgufWriter, type TensorType } from "./gguf-writer";
import type { SpmVocab } from "./spm-vocab";

/** Source of a tensor's float32 values, given its name and ggml shape. */
export type WeightSource = (name: string, shape: number[]) => Float32Array;

/** A llama-architecture language model (RMSNorm, SwiGLU, RoPE). */
export interface LlamaSpec {
  name: string;
  vocab: SpmVocab;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  nHeadKv: number;
  nFf: number;
  /** Context length the model was trained for, in tokens. */
  contextLength: number;
  ropeFreqBase: number;
  rmsEps: number;
  /** Weight type for matrices; norms stay F32. */
  tensorType: TensorType;
  /** Share token_embd with the output head (no output.weight tensor). */
  tiedOutput: boolean;
  chatTemplate?: string;
}

/** A LLaVA-1.5 style CLIP ViT with an `mlp` projector into the LLM's width. */
export interface ClipSpec {
  name: string;
  imageSize: number;
  patchSize: number;
  nEmbd: number;
  nFf: number;
  /** Transformer blocks that run. One extra all-zero block is written, because
   * clip.cpp's LLaVA graph stops before the last block (penultimate features). */
  nLayer: number;
  nHead: number;
  eps: number;
  projHidden: number;
  /** Must equal the language model's embedding width. */
  projDim: number;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
  classEmbd: boolean;
  tensorType: TensorType;
}

const matrixType = (t: TensorType, shape: number[]): TensorType => (t === "Q8_0" && shape[0]! % 32 !== 0 ? "F16" : t);

/**
 * Writes a llama GGUF with weights from `weights` (BOS added, the LLaVA-1.5
 * template unless told); `splits` > 1 writes llama.cpp's split form (see
 * GgufWriter.write). Returns the files written.
 */
export function writeLlamaGguf(path: string, spec: LlamaSpec, weights: WeightSource, { splits = 1 }: { splits?: number } = {}): string[] {
  return writeDecoderGguf(path, { ...spec, arch: "llama", chatTemplate: spec.chatTemplate ?? LLAVA_CHAT_TEMPLATE, addBos: true }, weights, { splits });
}

/** Number of image tokens one image costs with this projector. */
export const clipImageTokens = (spec: Pick<ClipSpec, "imageSize" | "patchSize">) => (spec.imageSize / spec.patchSize) ** 2;

/** Writes a LLaVA-1.5 `mlp` mmproj GGUF with weights from `weights`. */
export function writeClipGguf(path: string, spec: ClipSpec, weights: WeightSource): void {
  if (spec.nFf === spec.nEmbd) throw new Error("nFf must differ from nEmbd (clip.cpp would swap ffn_up/ffn_down)");
  const w = new GgufWriter();
  const written = spec.nLayer + 1;
  w.set("general.architecture", "string", "clip")
    .set("general.name", "string", spec.name)
    .set("general.file_type", "u32", FILE_TYPE[spec.tensorType])
    .set("clip.projector_type", "string", "mlp")
    .set("clip.has_vision_encoder", "bool", true)
    .set("clip.has_text_encoder", "bool", false)
    .set("clip.has_llava_projector", "bool", true)
    .set("clip.use_gelu", "bool", true)
    .set("clip.vision.image_size", "u32", spec.imageSize)
    .set("clip.vision.patch_size", "u32", spec.patchSize)
    .set("clip.vision.embedding_length", "u32", spec.nEmbd)
    .set("clip.vision.feed_forward_length", "u32", spec.nFf)
    .set("clip.vision.projection_dim", "u32", spec.projDim)
    .set("clip.vision.block_count", "u32", written)
    .set("clip.vision.attention.head_count", "u32", spec.nHead)
    .set("clip.vision.attention.layer_norm_epsilon", "f32", spec.eps)
    .setArray("clip.vision.image_mean", "f32", spec.imageMean)
    .setArray("clip.vision.image_std", "f32", spec.imageStd);

  const d = spec.nEmbd;
  const nPos = clipImageTokens(spec) + (spec.classEmbd ? 1 : 0);
  const add = (name: string, shape: number[], type: TensorType = "F32") =>
    w.addTensor(name, shape, type, () => weights(name, shape));
  const mat = (name: string, shape: number[]) => add(name, shape, matrixType(spec.tensorType, shape));
  // The patch embedding is a convolution; ggml wants it F16/F32.
  add("v.patch_embd.weight", [spec.patchSize, spec.patchSize, 3, d], spec.tensorType === "F32" ? "F32" : "F16");
  add("v.patch_embd.bias", [d]);
  if (spec.classEmbd) add("v.class_embd", [d]);
  add("v.position_embd.weight", [d, nPos]);
  add("v.pre_ln.weight", [d]);
  add("v.pre_ln.bias", [d]);
  for (let i = 0; i < written; i++) {
    const zero = i === spec.nLayer;
    const src = (name: string, shape: number[]) =>
      zero ? new Float32Array(shape.reduce((a, b) => a * b, 1)) : weights(name, shape);
    const t = (n: string, shape: number[], type: TensorType = "F32") => {
      const name = `v.blk.${i}.${n}`;
      w.addTensor(name, shape, type, () => src(name, shape));
    };
    const tm = (n: string, shape: number[]) => t(n, shape, matrixType(spec.tensorType, shape));
    t("ln1.weight", [d]);
    t("ln1.bias", [d]);
    for (const p of ["attn_q", "attn_k", "attn_v", "attn_out"]) {
      tm(`${p}.weight`, [d, d]);
      t(`${p}.bias`, [d]);
    }
    t("ln2.weight", [d]);
    t("ln2.bias", [d]);
    tm("ffn_up.weight", [d, spec.nFf]);
    t("ffn_up.bias", [spec.nFf]);
    tm("ffn_down.weight", [spec.nFf, d]);
    t("ffn_down.bias", [d]);
  }
  mat("mm.0.weight", [d, spec.projHidden]);
  add("mm.0.bias", [spec.projHidden]);
  mat("mm.2.weight", [spec.projHidden, spec.projDim]);
  add("mm.2.bias", [spec.projDim]);
  w.write(path);
}
