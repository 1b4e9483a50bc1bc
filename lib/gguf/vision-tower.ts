import { FILE_TYPE, GgufWriter, type TensorType } from "./gguf-writer";
import type { WeightSource } from "./llava-files";

/**
 * The part every mmproj shares: the `clip.*` header and a ViT tower
 * (patch embedding, optional position/class embeddings, pre/post norms and
 * `v.blk.N.*` blocks with the names clip.cpp reads). A family replica adds
 * its projector's tensors and keys to the returned writer, then writes it.
 */
export interface VisionTowerSpec {
  name: string;
  /** `clip.projector_type`. */
  projectorType: string;
  imageSize: number;
  patchSize: number;
  /** Tower width, FFN width, blocks, heads. */
  d: number;
  ff: number;
  nLayer: number;
  nHead: number;
  eps: number;
  /** Must equal the language model's embedding width. */
  projDim: number;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
  /** Matrices; norms, biases and embeddings stay F32. */
  tensorType: TensorType;
  /** Rows of `v.position_embd.weight`; 0 for towers with rotary positions (no table). */
  positions: number;
  classEmbd?: boolean;
  /** Default true. */
  patchBias?: boolean;
  preLn?: boolean;
  postLn?: boolean;
  /** SwiGLU FFN (ffn_gate + ffn_up + ffn_down), as Pixtral and Qwen2.5-VL use. */
  gatedFfn?: boolean;
  /** "layer" (weight + bias, default) or "rms" (weight only). */
  norm?: "layer" | "rms";
  /** Attention and FFN biases; default true. */
  biases?: boolean;
  /** clip.use_gelu / clip.use_silu. */
  act?: "gelu" | "silu";
}

const matrixType = (t: TensorType, shape: number[]): TensorType => (t === "Q8_0" && shape[0]! % 32 !== 0 ? "F16" : t);

export function visionTower(spec: VisionTowerSpec, weights: WeightSource) {
  if (spec.ff === spec.d) throw new Error("ff must differ from d (clip.cpp would swap ffn_up/ffn_down)");
  const w = new GgufWriter();
  w.set("general.architecture", "string", "clip")
    .set("general.name", "string", spec.name)
    .set("general.file_type", "u32", FILE_TYPE[spec.tensorType])
    .set("clip.projector_type", "string", spec.projectorType)
    .set("clip.has_vision_encoder", "bool", true)
    .set("clip.has_text_encoder", "bool", false)
    .set(spec.act === "silu" ? "clip.use_silu" : "clip.use_gelu", "bool", true)
    .set("clip.vision.image_size", "u32", spec.imageSize)
    .set("clip.vision.patch_size", "u32", spec.patchSize)
    .set("clip.vision.embedding_length", "u32", spec.d)
    .set("clip.vision.feed_forward_length", "u32", spec.ff)
    .set("clip.vision.projection_dim", "u32", spec.projDim)
    .set("clip.vision.block_count", "u32", spec.nLayer)
    .set("clip.vision.attention.head_count", "u32", spec.nHead)
    .set("clip.vision.attention.layer_norm_epsilon", "f32", spec.eps)
    .setArray("clip.vision.image_mean", "f32", spec.imageMean)
    .setArray("clip.vision.image_std", "f32", spec.imageStd);

  /** Adds a tensor with weights from the source; matrices (2-D and up) take the spec's type unless told. */
  const add = (name: string, shape: number[], type?: TensorType) =>
    w.addTensor(name, shape, type ?? (shape.length > 1 ? matrixType(spec.tensorType, shape) : "F32"), () => weights(name, shape));
  const norm = (name: string) => {
    add(`${name}.weight`, [spec.d], "F32");
    if (spec.norm !== "rms") add(`${name}.bias`, [spec.d], "F32");
  };
  const d = spec.d;
  const biases = spec.biases ?? true;
  add("v.patch_embd.weight", [spec.patchSize, spec.patchSize, 3, d], spec.tensorType === "F32" ? "F32" : "F16");
  if (spec.patchBias ?? true) add("v.patch_embd.bias", [d]);
  if (spec.classEmbd) add("v.class_embd", [d]);
  if (spec.positions) add("v.position_embd.weight", [d, spec.positions]);
  if (spec.preLn) norm("v.pre_ln");
  for (let i = 0; i < spec.nLayer; i++) {
    const b = `v.blk.${i}`;
    norm(`${b}.ln1`);
    for (const p of ["attn_q", "attn_k", "attn_v", "attn_out"]) {
      add(`${b}.${p}.weight`, [d, d]);
      if (biases) add(`${b}.${p}.bias`, [d]);
    }
    norm(`${b}.ln2`);
    const ffn: Array<[string, number[]]> = spec.gatedFfn
      ? [["ffn_gate", [d, spec.ff]], ["ffn_up", [d, spec.ff]], ["ffn_down", [spec.ff, d]]]
      : [["ffn_up", [d, spec.ff]], ["ffn_down", [spec.ff, d]]];
    for (const [p, shape] of ffn) {
      add(`${b}.${p}.weight`, shape);
      if (biases) add(`${b}.${p}.bias`, [shape[1]!]);
    }
  }
  if (spec.postLn) norm("v.post_ln");
  return { w, add };
}
