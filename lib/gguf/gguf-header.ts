import fs from "node:fs";

/**
 * A small GGUF header reader: scalar metadata, the tensor-info table and
 * where tensor data begins, with the exact byte range the header occupies.
 * Array values are skipped (not decoded) so a 150 k-token vocabulary costs
 * a sequential read, not memory. The model catalog reads full metadata
 * through node-llama-cpp; this reader exists for what that one does not
 * expose: byte offsets (fingerprints) and adapter files, outside the engine.
 */

export interface GgufTensorInfo {
  name: string;
  /** ggml order: `shape[0]` is the innermost dimension. */
  shape: number[];
  /** ggml type id (0 = F32, 1 = F16, 8 = Q8_0, …). */
  type: number;
  /** Byte offset from the start of the data section. */
  offset: number;
}

export interface GgufHeader {
  version: number;
  /** Scalar metadata (u64/i64 as numbers; arrays are left out). */
  metadata: Record<string, number | boolean | string>;
  /**
   * Array metadata of at most {@link SMALL_ARRAY} items (such as
   * `lvc.adapter.kinds`); longer arrays (vocabularies) are skipped.
   */
  arrays: Record<string, (number | boolean | string)[]>;
  tensors: GgufTensorInfo[];
  /** Byte offset of the end of the tensor-info table (before alignment padding). */
  infoEnd: number;
  /** Byte offset of the first tensor's data (aligned to `general.alignment`). */
  dataOffset: number;
  /** File size in bytes. */
  fileSize: number;
}

/** Buffered sequential reader over a file descriptor. */
class FileCursor {
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  pos = 0;

  constructor(private readonly fd: number, readonly size: number) {}

  private ensure(n: number) {
    const have = this.bufStart + this.buf.length - this.pos;
    if (have >= n) return;
    if (this.pos + n > this.size) throw new Error(`GGUF header runs past the end of the file (at byte ${this.pos})`);
    const length = Math.max(n, 1 << 20);
    const next = Buffer.alloc(Math.min(length, this.size - this.pos));
    fs.readSync(this.fd, next, 0, next.length, this.pos);
    this.buf = next;
    this.bufStart = this.pos;
  }

  private at(n: number): number {
    this.ensure(n);
    const o = this.pos - this.bufStart;
    this.pos += n;
    return o;
  }

  /** Reads n bytes with `get` (after refilling the buffer: `this.buf` must be read after `at`). */
  private read<T>(n: number, get: (buf: Buffer, offset: number) => T): T {
    const o = this.at(n);
    return get(this.buf, o);
  }

  u8() { return this.read(1, (b, o) => b.readUInt8(o)); }
  u32() { return this.read(4, (b, o) => b.readUInt32LE(o)); }
  u64() { return Number(this.read(8, (b, o) => b.readBigUInt64LE(o))); }
  skip(n: number) {
    if (this.pos + n > this.size) throw new Error(`GGUF header runs past the end of the file (at byte ${this.pos})`);
    this.pos += n;
  }
  string(): string {
    const n = this.u64();
    if (n > 1 << 26) throw new Error(`GGUF string of ${n} bytes at byte ${this.pos}: not a GGUF file?`);
    const o = this.at(n);
    return this.buf.toString("utf8", o, o + n);
  }
  value(type: number): number | boolean | string {
    switch (type) {
      case 0: return this.read(1, (b, o) => b.readUInt8(o));
      case 1: return this.read(1, (b, o) => b.readInt8(o));
      case 2: return this.read(2, (b, o) => b.readUInt16LE(o));
      case 3: return this.read(2, (b, o) => b.readInt16LE(o));
      case 4: return this.read(4, (b, o) => b.readUInt32LE(o));
      case 5: return this.read(4, (b, o) => b.readInt32LE(o));
      case 6: return this.read(4, (b, o) => b.readFloatLE(o));
      case 7: return this.read(1, (b, o) => b.readUInt8(o)) !== 0;
      case 8: return this.string();
      case 10: return Number(this.read(8, (b, o) => b.readBigUInt64LE(o)));
      case 11: return Number(this.read(8, (b, o) => b.readBigInt64LE(o)));
      case 12: return this.read(8, (b, o) => b.readDoubleLE(o));
      default: throw new Error(`unknown GGUF value type ${type} at byte ${this.pos}`);
    }
  }
}

/** Arrays up to this many items are decoded; longer ones are skipped. */
export const SMALL_ARRAY = 256;

const FIXED_SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** Reads the header of a GGUF file (version 2 or 3). Throws on anything else. */
export function readGgufHeader(file: string): GgufHeader {
  const fd = fs.openSync(file, "r");
  try {
    const cursor = new FileCursor(fd, fs.fstatSync(fd).size);
    if (cursor.u32() !== 0x46554747) throw new Error(`${file} is not a GGUF file (bad magic)`);
    const version = cursor.u32();
    if (version !== 2 && version !== 3) throw new Error(`${file}: unsupported GGUF version ${version}`);
    const tensorCount = cursor.u64();
    const kvCount = cursor.u64();
    const metadata: GgufHeader["metadata"] = {};
    const arrays: GgufHeader["arrays"] = {};
    for (let i = 0; i < kvCount; i++) {
      const key = cursor.string();
      const type = cursor.u32();
      if (type !== 9) {
        metadata[key] = cursor.value(type);
        continue;
      }
      const itemType = cursor.u32();
      const n = cursor.u64();
      if (n <= SMALL_ARRAY) {
        const items: (number | boolean | string)[] = [];
        for (let j = 0; j < n; j++) items.push(cursor.value(itemType));
        arrays[key] = items;
      } else if (itemType === 8) for (let j = 0; j < n; j++) cursor.skip(cursor.u64());
      else if (FIXED_SIZE[itemType] !== undefined) cursor.skip(n * FIXED_SIZE[itemType]!);
      else throw new Error(`${file}: unsupported array item type ${itemType} in ${key}`);
    }
    const tensors: GgufTensorInfo[] = [];
    for (let i = 0; i < tensorCount; i++) {
      const name = cursor.string();
      const dims = cursor.u32();
      const shape: number[] = [];
      for (let d = 0; d < dims; d++) shape.push(cursor.u64());
      const type = cursor.u32();
      const offset = cursor.u64();
      tensors.push({ name, shape, type, offset });
    }
    const infoEnd = cursor.pos;
    const alignment = typeof metadata["general.alignment"] === "number" ? metadata["general.alignment"] : 32;
    const dataOffset = Math.ceil(infoEnd / alignment) * alignment;
    return { version, metadata, arrays, tensors, infoEnd, dataOffset, fileSize: cursor.size };
  } finally {
    fs.closeSync(fd);
  }
}
