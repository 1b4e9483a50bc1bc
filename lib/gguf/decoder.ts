import type { BpeVocab } from "./bpe-vocab";
import { FILE_TYPE, GgufWriter, type TensorType } from "./gguf-writer";
import type { WeightSource } from "./llava-files";
import type { SpmVocab } from "./spm-vocab";

/**
 * A decoder-only language model GGUF of any llama.cpp architecture whose
 * blocks follow the common layout (attention q/k/v/output, gated FFN,
 * RMS norms), with hooks for what a family adds: more metadata (rope
 * sections, sliding windows), biases and extra per-layer tensors. Used by
 * the family replicas (`lib/gguf/replicas`).
 */
export interface DecoderSpec {
  /** `general.architecture`, and the prefix of the model's metadata keys ("qwen2vl", "gemma3"…). */
  arch: string;
  name: string;
  vocab: SpmVocab | BpeVocab;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  nHeadKv: number;
  /** Per-head width; default nEmbd / nHead. */
  headDim?: number;
  nFf: number;
  contextLength: number;
  ropeFreqBase: number;
  rmsEps: number;
  /** Matrices; norms stay F32. */
  tensorType: TensorType;
  /** Share token_embd with the output head (no output.weight). */
  tiedOutput: boolean;
  chatTemplate: string;
  addBos: boolean;
  /** q/k/v biases (Qwen2 family). */
  qkvBias?: boolean;
  /** Extra metadata, written after the common keys; `key("x")` is `<arch>.x`. */
  meta?: (w: GgufWriter, key: (k: string) => string) => void;
  /** Extra tensors of block i, as [name after "blk.i.", ggml shape]; all F32. */
  layerTensors?: (i: number, dims: { headDim: number; nEmbd: number }) => Array<[string, number[]]>;
}

const matrixType = (t: TensorType, shape: number[]): TensorType => (t === "Q8_0" && shape[0]! % 32 !== 0 ? "F16" : t);

/** The tokenizer keys of a vocabulary (and the chat template). */
export function writeTokenizer(w: GgufWriter, vocab: SpmVocab | BpeVocab, { addBos, chatTemplate }: { addBos: boolean; chatTemplate: string }) {
  if ("merges" in vocab) {
    w.set("tokenizer.ggml.model", "string", "gpt2")
      .set("tokenizer.ggml.pre", "string", vocab.pre)
      .setArray("tokenizer.ggml.tokens", "string", vocab.tokens)
      .setArray("tokenizer.ggml.token_type", "i32", vocab.types)
      .setArray("tokenizer.ggml.merges", "string", vocab.merges);
    if (vocab.pad !== undefined) w.set("tokenizer.ggml.padding_token_id", "u32", vocab.pad);
  } else {
    w.set("tokenizer.ggml.model", "string", "llama")
      .setArray("tokenizer.ggml.tokens", "string", vocab.tokens)
      .setArray("tokenizer.ggml.scores", "f32", vocab.scores)
      .setArray("tokenizer.ggml.token_type", "i32", vocab.types)
      .set("tokenizer.ggml.unknown_token_id", "u32", vocab.unk);
  }
  w.set("tokenizer.ggml.bos_token_id", "u32", vocab.bos)
    .set("tokenizer.ggml.eos_token_id", "u32", vocab.eos)
    .set("tokenizer.ggml.add_bos_token", "bool", addBos)
    .set("tokenizer.ggml.add_eos_token", "bool", false);
  if (!("merges" in vocab)) w.set("tokenizer.ggml.add_space_prefix", "bool", false);
  w.set("tokenizer.chat_template", "string", chatTemplate);
}

export function writeDecoderGguf(file: string, spec: DecoderSpec, weights: WeightSource, { splits = 1 }: { splits?: number } = {}): string[] {
  const w = new GgufWriter();
  const key = (k: string) => `${spec.arch}.${k}`;
  const headDim = spec.headDim ?? spec.nEmbd / spec.nHead;
  w.set("general.architecture", "string", spec.arch)
    .set("general.name", "string", spec.name)
    .set("general.file_type", "u32", FILE_TYPE[spec.tensorType])
    .set(key("context_length"), "u32", spec.contextLength)
    .set(key("embedding_length"), "u32", spec.nEmbd)
    .set(key("block_count"), "u32", spec.nLayer)
    .set(key("feed_forward_length"), "u32", spec.nFf)
    .set(key("attention.head_count"), "u32", spec.nHead)
    .set(key("attention.head_count_kv"), "u32", spec.nHeadKv)
    .set(key("attention.layer_norm_rms_epsilon"), "f32", spec.rmsEps)
    .set(key("rope.dimension_count"), "u32", headDim)
    .set(key("rope.freq_base"), "f32", spec.ropeFreqBase)
    .set(key("vocab_size"), "u32", spec.vocab.tokens.length);
  if (spec.headDim !== undefined) w.set(key("attention.key_length"), "u32", headDim).set(key("attention.value_length"), "u32", headDim);
  spec.meta?.(w, key);
  writeTokenizer(w, spec.vocab, { addBos: spec.addBos, chatTemplate: spec.chatTemplate });

  const add = (name: string, shape: number[], type: TensorType) => w.addTensor(name, shape, type, () => weights(name, shape));
  const nVocab = spec.vocab.tokens.length;
  const nQ = headDim * spec.nHead;
  const nKv = headDim * spec.nHeadKv;
  add("token_embd.weight", [spec.nEmbd, nVocab], matrixType(spec.tensorType, [spec.nEmbd]));
  for (let i = 0; i < spec.nLayer; i++) {
    const m = (n: string, shape: number[]) => add(`blk.${i}.${n}.weight`, shape, matrixType(spec.tensorType, shape));
    add(`blk.${i}.attn_norm.weight`, [spec.nEmbd], "F32");
    m("attn_q", [spec.nEmbd, nQ]);
    m("attn_k", [spec.nEmbd, nKv]);
    m("attn_v", [spec.nEmbd, nKv]);
    if (spec.qkvBias) {
      add(`blk.${i}.attn_q.bias`, [nQ], "F32");
      add(`blk.${i}.attn_k.bias`, [nKv], "F32");
      add(`blk.${i}.attn_v.bias`, [nKv], "F32");
    }
    m("attn_output", [nQ, spec.nEmbd]);
    add(`blk.${i}.ffn_norm.weight`, [spec.nEmbd], "F32");
    m("ffn_gate", [spec.nEmbd, spec.nFf]);
    m("ffn_up", [spec.nEmbd, spec.nFf]);
    m("ffn_down", [spec.nFf, spec.nEmbd]);
    for (const [name, shape] of spec.layerTensors?.(i, { headDim, nEmbd: spec.nEmbd }) ?? []) add(`blk.${i}.${name}`, shape, "F32");
  }
  add("output_norm.weight", [spec.nEmbd], "F32");
  if (!spec.tiedOutput) add("output.weight", [spec.nEmbd, nVocab], matrixType(spec.tensorType, [spec.nEmbd]));
  return w.write(file, { splits });
}
