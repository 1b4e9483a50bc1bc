import type { GgufWriter, TensorType } from "./gguf-writer";
import type { WeightSource } from "./llava-files";

/**
 * The Whisper-style audio encoder every libmtmd audio family shares
 * (Ultravox, Qwen2-Audio, Qwen2.5-Omni, Voxtral…), as the converter writes
 * it (`conversion/ultravox.py` WhisperEncoderModel, `conversion/qwenvl.py`
 * Qwen25AudioModel) and clip.cpp reads it (`clip_graph_whisper_enc`):
 *
 * - `clip.has_audio_encoder` and the `clip.audio.*` hyper-parameters
 *   (width, FFN width, blocks, heads, projection width, layer-norm eps,
 *   `num_mel_bins`);
 * - two 1-D convolutions over the mel frames, `a.conv1d.1` (n_mel → d,
 *   kernel 3, stride 1) and `a.conv1d.2` (d → d, kernel 3, stride 2, which
 *   halves the frames), F16 kernels and [1, d] biases (the converter
 *   unsqueezes them);
 * - `a.position_embd.weight` of 1500 rows (a 30 s chunk is 3000 mel frames,
 *   1500 after the stride-2 convolution: clip.cpp asserts the table is that
 *   long);
 * - `a.blk.N.*` pre-norm blocks with LayerNorms ln1/ln2 (weight + bias),
 *   attention q/v/out with biases and k without (Whisper's k_proj has none;
 *   clip.cpp asserts it), a GELU FFN ffn_up/ffn_down with biases;
 * - `a.post_ln` (the encoder's final LayerNorm).
 *
 * The family adds its projector's tensors (and its projector type) to the
 * returned writer. Written into the same writer as a vision tower for a
 * model with both encoders (Qwen2.5-Omni).
 */
export interface AudioTowerSpec {
  d: number;
  ff: number;
  nLayer: number;
  nHead: number;
  eps: number;
  nMel: number;
  /** `clip.audio.projection_dim`: the language model's width. */
  projDim: number;
  tensorType: TensorType;
}

/** Rows of the position table: one 30 s chunk after the stride-2 convolution. */
export const WHISPER_POSITIONS = 1500;

export function audioTower(w: GgufWriter, spec: AudioTowerSpec, weights: WeightSource) {
  if (spec.ff === spec.d) throw new Error("ff must differ from d (clip.cpp would swap ffn_up/ffn_down)");
  const { d } = spec;
  w.set("clip.has_audio_encoder", "bool", true)
    .set("clip.audio.embedding_length", "u32", d)
    .set("clip.audio.feed_forward_length", "u32", spec.ff)
    .set("clip.audio.block_count", "u32", spec.nLayer)
    .set("clip.audio.attention.head_count", "u32", spec.nHead)
    .set("clip.audio.attention.layer_norm_epsilon", "f32", spec.eps)
    .set("clip.audio.projection_dim", "u32", spec.projDim)
    .set("clip.audio.num_mel_bins", "u32", spec.nMel);
  const add = (name: string, shape: number[], type?: TensorType) =>
    w.addTensor(name, shape, type ?? (shape.length > 1 ? spec.tensorType : "F32"), () => weights(name, shape));
  const norm = (name: string) => {
    add(`${name}.weight`, [d], "F32");
    add(`${name}.bias`, [d], "F32");
  };
  add("a.conv1d.1.weight", [3, spec.nMel, d], "F16");
  add("a.conv1d.1.bias", [1, d], "F32");
  add("a.conv1d.2.weight", [3, d, d], "F16");
  add("a.conv1d.2.bias", [1, d], "F32");
  add("a.position_embd.weight", [d, WHISPER_POSITIONS], "F32");
  for (let i = 0; i < spec.nLayer; i++) {
    const b = `a.blk.${i}`;
    norm(`${b}.ln1`);
    add(`${b}.attn_q.weight`, [d, d]);
    add(`${b}.attn_q.bias`, [d]);
    add(`${b}.attn_k.weight`, [d, d]);
    add(`${b}.attn_v.weight`, [d, d]);
    add(`${b}.attn_v.bias`, [d]);
    add(`${b}.attn_out.weight`, [d, d]);
    add(`${b}.attn_out.bias`, [d]);
    norm(`${b}.ln2`);
    add(`${b}.ffn_up.weight`, [d, spec.ff]);
    add(`${b}.ffn_up.bias`, [spec.ff]);
    add(`${b}.ffn_down.weight`, [spec.ff, d]);
    add(`${b}.ffn_down.bias`, [d]);
  }
  norm("a.post_ln");
  return { add };
}
