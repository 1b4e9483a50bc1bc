import fs from "node:fs";
import { ggufFingerprint } from "./fingerprint";
import { readGgufHeader, type GgufHeader } from "./gguf-header";
import { FILE_TYPE, GgufWriter } from "./gguf-writer";

/**
 * llama.cpp LoRA adapter GGUFs (what `convert_lora_to_gguf.py` writes and
 * `llama_adapter_lora_init` reads, src/llama-adapter.cpp):
 * - `general.type = "adapter"`, `adapter.type = "lora"`,
 *   `adapter.lora.alpha` (f32), `general.architecture` equal to the base's
 *   (llama.cpp refuses another architecture);
 * - per adapted base tensor W (ggml shape `[n_in, n_out]`, i.e. PyTorch
 *   `[n_out, n_in]`): `<W>.lora_a` with ggml shape `[n_in, rank]` and
 *   `<W>.lora_b` with ggml shape `[rank, n_out]`: PyTorch's `A [rank, n_in]`
 *   and `B [n_out, rank]` in their natural row-major order. The runtime adds
 *   `scale · alpha / rank · B (A x)` to `W x`, `scale` being the
 *   per-request adapter scale.
 * - `token_embd.weight` is the exception (`llm_build_inp_embd` looks rows up
 *   in A): there lora_a holds B (`[n_vocab, rank]`) and lora_b holds Aᵀ
 *   (`[n_embd, rank]`), as the converter's transpose does. The writer does
 *   this swap, so callers always pass A and B in the one convention below.
 *
 * Our own keys: `lvc.base.fingerprint` (see `ggufFingerprint`), which the
 * catalog uses to pair an adapter with its base; `lvc.base.name`;
 * `lvc.adapter.kinds` (the attachment kinds it is for, e.g. `["chart"]`);
 * `lvc.adapter.rank`; `lvc.adapter.description`.
 *
 * Only the language model is adapted: llama.cpp applies LoRA to the LLM's
 * matrices, never to the mmproj (vision tower / projector).
 */

/** Metadata key of the base model's fingerprint. */
export const BASE_FINGERPRINT_KEY = "lvc.base.fingerprint";
/** Metadata key of the base model's `general.name`. */
export const BASE_NAME_KEY = "lvc.base.name";
/** Metadata key of the attachment kinds an adapter is for (string array). */
export const ADAPTER_KINDS_KEY = "lvc.adapter.kinds";
/** Metadata key of a one-line description. */
export const ADAPTER_DESCRIPTION_KEY = "lvc.adapter.description";
/** File suffix the catalog looks for. */
export const LORA_SUFFIX = ".lora.gguf";

/** ggml's GGML_MAX_NAME (64 with the terminating NUL). */
const MAX_TENSOR_NAME = 63;

export interface LoraTensor {
  /** The base tensor adapted, e.g. `"blk.0.attn_q.weight"` (must exist in the base and be 2-D). */
  target: string;
  /** LoRA rank r (≥ 1). */
  rank: number;
  /**
   * A: PyTorch shape `[rank, n_in]`, row-major (peft's `lora_A.weight`),
   * where the base weight in PyTorch layout is `[n_out, n_in]` (ggml
   * `[n_in, n_out]`). ΔW = (alpha / rank) · B · A.
   */
  a: Float32Array;
  /** B: PyTorch shape `[n_out, rank]`, row-major (peft's `lora_B.weight`). All zeros = an adapter that changes nothing. */
  b: Float32Array;
}

export interface WriteLoraOptions {
  /** Path of the base model GGUF (the LLM, not the mmproj). Read for shapes, architecture and fingerprint. */
  base: string;
  /** LoRA alpha: the update is scaled by alpha / rank. Default: the largest rank (scale 1). */
  alpha?: number;
  tensors: LoraTensor[];
  /** `general.name`; default the file name without `.lora.gguf`. */
  name?: string;
  /** Attachment kinds the adapter is for (`lvc.adapter.kinds`), e.g. `["chart"]`. Default none. */
  kinds?: string[];
  description?: string;
  /** Storage type of A and B; default `"F32"` (convert_lora_to_gguf.py's default). F16 halves the file. */
  type?: "F32" | "F16";
  /** Precomputed base fingerprint (skips re-reading the base); default computed. */
  baseFingerprint?: string;
}

export interface WrittenLora {
  file: string;
  baseFingerprint: string;
  /** Trainable parameters stored (Σ rank · (n_in + n_out)). */
  parameters: number;
  bytes: number;
}

function transpose(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
  return out;
}

/** Checks the tensors against the base; returns the ggml shapes to write. */
function planTensors(header: GgufHeader, tensors: LoraTensor[]) {
  if (!tensors.length) throw new Error("a LoRA adapter needs at least one tensor");
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  const seen = new Set<string>();
  return tensors.map((t) => {
    if (seen.has(t.target)) throw new Error(`${t.target}: adapted twice`);
    seen.add(t.target);
    const base = byName.get(t.target);
    if (!base) throw new Error(`${t.target}: no such tensor in the base model`);
    if (base.shape.length !== 2) throw new Error(`${t.target}: only 2-D weights can be adapted (shape ${base.shape.join("x")})`);
    if (!Number.isInteger(t.rank) || t.rank < 1) throw new Error(`${t.target}: rank must be a positive integer, got ${t.rank}`);
    if (`${t.target}.lora_a`.length > MAX_TENSOR_NAME) throw new Error(`${t.target}: name too long for ggml`);
    const [nIn, nOut] = base.shape as [number, number];
    if (t.a.length !== t.rank * nIn) throw new Error(`${t.target}: A must be [${t.rank}, ${nIn}] (${t.rank * nIn} values), got ${t.a.length}`);
    if (t.b.length !== nOut * t.rank) throw new Error(`${t.target}: B must be [${nOut}, ${t.rank}] (${nOut * t.rank} values), got ${t.b.length}`);
    for (const v of t.a) if (!Number.isFinite(v)) throw new Error(`${t.target}: A has a non-finite value`);
    for (const v of t.b) if (!Number.isFinite(v)) throw new Error(`${t.target}: B has a non-finite value`);
    if (t.target.endsWith("token_embd.weight")) {
      // ΔE [n_vocab, n_embd] = B·A; llama.cpp looks token rows up in lora_a.
      return { t, aShape: [t.rank, nOut], aData: () => t.b, bShape: [t.rank, nIn], bData: () => transpose(t.a, t.rank, nIn) };
    }
    return { t, aShape: [nIn, t.rank], aData: () => t.a, bShape: [t.rank, nOut], bData: () => t.b };
  });
}

/**
 * Writes a llama.cpp LoRA adapter GGUF for `options.base` (atomically).
 * Callable from a tsx script:
 *
 * ```ts
 * writeLoraGguf("models/tiny/chart.lora.gguf", {
 *   base: "models/tiny/mini-llava-shapes.gguf", alpha: 16, kinds: ["chart"],
 *   tensors: [{ target: "blk.0.attn_q.weight", rank: 8, a, b }],
 * });
 * ```
 * Throws, writing nothing, when a target is missing from the base, a shape
 * is wrong or a value is not finite.
 */
export function writeLoraGguf(file: string, options: WriteLoraOptions): WrittenLora {
  const header = readGgufHeader(options.base);
  const arch = header.metadata["general.architecture"];
  if (typeof arch !== "string" || !arch) throw new Error(`${options.base}: no general.architecture`);
  if (arch === "clip") throw new Error(`${options.base} is an mmproj; LoRA adapts the language model`);
  if (header.metadata["general.type"] === "adapter") throw new Error(`${options.base} is itself an adapter`);
  const plan = planTensors(header, options.tensors);
  const maxRank = Math.max(...options.tensors.map((t) => t.rank));
  const alpha = options.alpha ?? maxRank;
  if (!Number.isFinite(alpha) || alpha <= 0) throw new Error(`alpha must be a positive number, got ${alpha}`);
  const type = options.type ?? "F32";
  const baseFingerprint = options.baseFingerprint ?? ggufFingerprint(options.base, header);
  const name = options.name ?? file.split(/[\\/]/).pop()!.replace(/\.lora\.gguf$|\.gguf$/i, "");

  const w = new GgufWriter();
  w.set("general.architecture", "string", arch)
    .set("general.type", "string", "adapter")
    .set("general.name", "string", name)
    .set("general.file_type", "u32", FILE_TYPE[type])
    .set("adapter.type", "string", "lora")
    .set("adapter.lora.alpha", "f32", alpha)
    .set(BASE_FINGERPRINT_KEY, "string", baseFingerprint)
    .set(BASE_NAME_KEY, "string", String(header.metadata["general.name"] ?? ""))
    .set("lvc.adapter.rank", "u32", maxRank)
    .setArray(ADAPTER_KINDS_KEY, "string", options.kinds ?? []);
  if (options.description) w.set(ADAPTER_DESCRIPTION_KEY, "string", options.description);
  let parameters = 0;
  for (const p of plan) {
    w.addTensor(`${p.t.target}.lora_a`, p.aShape, type, p.aData);
    w.addTensor(`${p.t.target}.lora_b`, p.bShape, type, p.bData);
    parameters += p.t.a.length + p.t.b.length;
  }
  w.write(file);
  return { file, baseFingerprint, parameters, bytes: fs.statSync(file).size };
}

/** What an adapter file says about itself (header only; no tensor data read). */
export interface LoraInfo {
  name: string;
  architecture: string;
  alpha: number;
  rank: number;
  /** `undefined` when the file was not written by us (no `lvc.base.fingerprint`). */
  baseFingerprint?: string;
  baseName?: string;
  kinds: string[];
  description?: string;
  /** Base tensors it adapts. */
  targets: string[];
}

/** Reads a LoRA adapter's header; throws when the file is not a LoRA adapter GGUF. */
export function readLoraInfo(file: string): LoraInfo {
  const header = readGgufHeader(file);
  const m = header.metadata;
  if (m["general.type"] !== "adapter") throw new Error(`not an adapter: general.type is ${JSON.stringify(m["general.type"] ?? null)}`);
  if (m["adapter.type"] !== "lora") throw new Error(`not a LoRA adapter: adapter.type is ${JSON.stringify(m["adapter.type"] ?? null)}`);
  const targets = header.tensors.filter((t) => t.name.endsWith(".lora_a")).map((t) => t.name.slice(0, -".lora_a".length));
  const rank = typeof m["lvc.adapter.rank"] === "number"
    ? m["lvc.adapter.rank"]
    : Math.max(0, ...header.tensors.filter((t) => t.name.endsWith(".lora_b")).map((t) => t.shape[0] ?? 0));
  const str = (k: string) => (typeof m[k] === "string" && m[k] ? (m[k] as string) : undefined);
  return {
    name: str("general.name") ?? file.split(/[\\/]/).pop()!.replace(/\.lora\.gguf$/i, ""),
    architecture: String(m["general.architecture"] ?? ""),
    alpha: typeof m["adapter.lora.alpha"] === "number" ? m["adapter.lora.alpha"] : 0,
    rank,
    baseFingerprint: str(BASE_FINGERPRINT_KEY),
    baseName: str(BASE_NAME_KEY),
    kinds: (header.arrays[ADAPTER_KINDS_KEY] ?? []).map(String),
    description: str(ADAPTER_DESCRIPTION_KEY),
    targets,
  };
}
