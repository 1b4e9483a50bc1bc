import fs from "node:fs";
import { float32ToFloat16Bits } from "./half";

/**
 * The project's one GGUF writer (format version 3): metadata of every GGUF
 * value type and F32 / F16 / Q8_0 tensors, each aligned to
 * `general.alignment` (default 32 bytes). Tensor data is produced lazily
 * and streamed to disk one tensor at a time, so a 0.5 B-parameter file
 * never sits in memory whole.
 *
 * Shapes are in ggml order: `shape[0]` is the innermost (contiguous)
 * dimension, i.e. the reverse of PyTorch's `tensor.shape`.
 */

export type GgufScalarType = "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "u64" | "i64" | "f32" | "f64" | "bool" | "string";

/** GGUF value-type ids (gguf.h `enum gguf_type`). */
const VALUE_TYPE: Record<GgufScalarType | "array", number> = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
};

export type TensorType = "F32" | "F16" | "Q8_0";

/** ggml type ids and block geometry. */
const TENSOR_TYPE: Record<TensorType, { id: number; blockSize: number; bytesPerBlock: number }> = {
  F32: { id: 0, blockSize: 1, bytesPerBlock: 4 },
  F16: { id: 1, blockSize: 1, bytesPerBlock: 2 },
  Q8_0: { id: 8, blockSize: 32, bytesPerBlock: 34 },
};

/** `general.file_type` values (llama.h `enum llama_ftype`). */
export const FILE_TYPE: Record<TensorType, number> = { F32: 0, F16: 1, Q8_0: 7 };

type Scalar = number | bigint | boolean | string;
type MetaEntry =
  | { kind: "scalar"; type: GgufScalarType; value: Scalar }
  | { kind: "array"; type: GgufScalarType; values: readonly Scalar[] };

interface TensorEntry {
  name: string;
  shape: number[];
  type: TensorType;
  data: () => Float32Array;
  byteSize: number;
}

/** Growing little-endian byte buffer for the header. */
class ByteSink {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private reserve(n: number) {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  u8(v: number) { this.reserve(1); this.buf.writeUInt8(v, this.length); this.length += 1; }
  i8(v: number) { this.reserve(1); this.buf.writeInt8(v, this.length); this.length += 1; }
  u16(v: number) { this.reserve(2); this.buf.writeUInt16LE(v, this.length); this.length += 2; }
  i16(v: number) { this.reserve(2); this.buf.writeInt16LE(v, this.length); this.length += 2; }
  u32(v: number) { this.reserve(4); this.buf.writeUInt32LE(v, this.length); this.length += 4; }
  i32(v: number) { this.reserve(4); this.buf.writeInt32LE(v, this.length); this.length += 4; }
  u64(v: number | bigint) { this.reserve(8); this.buf.writeBigUInt64LE(BigInt(v), this.length); this.length += 8; }
  i64(v: number | bigint) { this.reserve(8); this.buf.writeBigInt64LE(BigInt(v), this.length); this.length += 8; }
  f32(v: number) { this.reserve(4); this.buf.writeFloatLE(v, this.length); this.length += 4; }
  f64(v: number) { this.reserve(8); this.buf.writeDoubleLE(v, this.length); this.length += 8; }
  string(s: string) {
    const bytes = Buffer.from(s, "utf8");
    this.u64(bytes.length);
    this.reserve(bytes.length);
    bytes.copy(this.buf, this.length);
    this.length += bytes.length;
  }
  pad(alignment: number) {
    const n = (alignment - (this.length % alignment)) % alignment;
    this.reserve(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function writeScalar(sink: ByteSink, type: GgufScalarType, value: Scalar) {
  switch (type) {
    case "string": return sink.string(String(value));
    case "bool": return sink.u8(value ? 1 : 0);
    case "u64": return sink.u64(value as number | bigint);
    case "i64": return sink.i64(value as number | bigint);
    default: return sink[type](Number(value));
  }
}

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

/** Encodes float32 values as the given tensor type. */
export function encodeTensor(type: TensorType, values: Float32Array): Buffer {
  if (type === "F32") return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  if (type === "F16") {
    const out = Buffer.alloc(values.length * 2);
    for (let i = 0; i < values.length; i++) out.writeUInt16LE(float32ToFloat16Bits(values[i]!), i * 2);
    return out;
  }
  // Q8_0: blocks of 32 values → f16 scale d = max|x| / 127, then 32 int8 = round(x / d).
  if (values.length % 32 !== 0) throw new Error(`Q8_0 needs a multiple of 32 values, got ${values.length}`);
  const blocks = values.length / 32;
  const out = Buffer.alloc(blocks * 34);
  for (let b = 0; b < blocks; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(values[b * 32 + j]!));
    const d = amax / 127;
    const id = d ? 1 / d : 0;
    const o = b * 34;
    out.writeUInt16LE(float32ToFloat16Bits(d), o);
    for (let j = 0; j < 32; j++) out.writeInt8(Math.round(values[b * 32 + j]! * id), o + 2 + j);
  }
  return out;
}

export class GgufWriter {
  private readonly meta = new Map<string, MetaEntry>();
  private readonly tensors: TensorEntry[] = [];
  readonly alignment: number;

  /** @param alignment tensor-data alignment in bytes; default 32 (the GGUF default). */
  constructor({ alignment = 32 }: { alignment?: number } = {}) {
    this.alignment = alignment;
    if (alignment !== 32) this.set("general.alignment", "u32", alignment);
  }

  /** Sets one metadata value; keys keep their first insertion order. */
  set(key: string, type: GgufScalarType, value: Scalar): this {
    this.meta.set(key, { kind: "scalar", type, value });
    return this;
  }

  /** Sets an array metadata value (all items of one type). */
  setArray(key: string, type: GgufScalarType, values: readonly Scalar[]): this {
    this.meta.set(key, { kind: "array", type, values });
    return this;
  }

  /**
   * Adds a tensor. `data` is called once, while writing, and must return
   * exactly `shape.reduce(*)` float32 values in ggml (row-major, innermost
   * first) order; they are converted to `type`.
   */
  addTensor(name: string, shape: number[], type: TensorType, data: Float32Array | (() => Float32Array)): this {
    if (this.tensors.some((t) => t.name === name)) throw new Error(`duplicate tensor ${name}`);
    const count = shape.reduce((a, b) => a * b, 1);
    const geometry = TENSOR_TYPE[type];
    if (shape[0]! % geometry.blockSize !== 0) {
      throw new Error(`${name}: ${type} needs the first dimension to be a multiple of ${geometry.blockSize}`);
    }
    const byteSize = (count / geometry.blockSize) * geometry.bytesPerBlock;
    const produce = typeof data === "function" ? data : () => data;
    this.tensors.push({ name, shape, type, data: produce, byteSize });
    return this;
  }

  private header(meta: Map<string, MetaEntry>, tensors: TensorEntry[]): Buffer {
    const sink = new ByteSink();
    sink.u32(0x46554747); // "GGUF"
    sink.u32(3);
    sink.u64(tensors.length);
    sink.u64(meta.size);
    for (const [key, entry] of meta) {
      sink.string(key);
      if (entry.kind === "scalar") {
        sink.u32(VALUE_TYPE[entry.type]);
        writeScalar(sink, entry.type, entry.value);
      } else {
        sink.u32(VALUE_TYPE.array);
        sink.u32(VALUE_TYPE[entry.type]);
        sink.u64(entry.values.length);
        for (const v of entry.values) writeScalar(sink, entry.type, v);
      }
    }
    let offset = 0;
    for (const t of tensors) {
      sink.string(t.name);
      sink.u32(t.shape.length);
      for (const d of t.shape) sink.u64(d);
      sink.u32(TENSOR_TYPE[t.type].id);
      sink.u64(offset);
      offset = alignUp(offset + t.byteSize, this.alignment);
    }
    sink.pad(this.alignment);
    return sink.bytes();
  }

  /**
   * Writes the file (atomically: a temporary name, then rename). With
   * `splits` > 1, writes llama.cpp's split form instead, as `llama-gguf-split`
   * does: `<path without .gguf>-0000i-of-0000N.gguf`, the tensors shared out
   * in order, all metadata in the first part, and `split.no` (u16),
   * `split.count` (u16) and `split.tensors.count` (i32) in every part.
   * Returns the files written (the first is the one to load).
   */
  write(path: string, { splits = 1 }: { splits?: number } = {}): string[] {
    if (splits <= 1) {
      this.writeFile(path, this.meta, this.tensors);
      return [path];
    }
    if (splits > this.tensors.length) throw new Error(`cannot split ${this.tensors.length} tensors into ${splits} files`);
    const prefix = path.replace(/\.gguf$/i, "");
    const files: string[] = [];
    const per = Math.ceil(this.tensors.length / splits);
    for (let i = 0; i < splits; i++) {
      const split = new Map<string, MetaEntry>(i === 0 ? this.meta : []);
      split.set("split.no", { kind: "scalar", type: "u16", value: i });
      split.set("split.count", { kind: "scalar", type: "u16", value: splits });
      split.set("split.tensors.count", { kind: "scalar", type: "i32", value: this.tensors.length });
      const file = `${prefix}-${String(i + 1).padStart(5, "0")}-of-${String(splits).padStart(5, "0")}.gguf`;
      this.writeFile(file, split, this.tensors.slice(i * per, (i + 1) * per));
      files.push(file);
    }
    return files;
  }

  private writeFile(path: string, meta: Map<string, MetaEntry>, tensors: TensorEntry[]): void {
    const tmp = `${path}.partial-${process.pid}`;
    const fd = fs.openSync(tmp, "w");
    try {
      fs.writeSync(fd, this.header(meta, tensors));
      const zeros = Buffer.alloc(this.alignment);
      for (const t of tensors) {
        const values = t.data();
        const expected = t.shape.reduce((a, b) => a * b, 1);
        if (values.length !== expected) throw new Error(`${t.name}: expected ${expected} values, got ${values.length}`);
        const bytes = encodeTensor(t.type, values);
        fs.writeSync(fd, bytes);
        const pad = (this.alignment - (bytes.length % this.alignment)) % this.alignment;
        if (pad) fs.writeSync(fd, zeros, 0, pad);
      }
      fs.closeSync(fd);
      fs.renameSync(tmp, path);
    } catch (err) {
      fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw err;
    }
  }
}
