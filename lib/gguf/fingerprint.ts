import crypto from "node:crypto";
import fs from "node:fs";
import { readGgufHeader, type GgufHeader } from "./gguf-header";

/**
 * A base model's weights fingerprint, which LoRA adapters record so the
 * catalog can pair them with the model they were trained on.
 *
 * `gguf-w1:` + SHA-256 over:
 * 1. the architecture and the tensor-info table (every tensor's name,
 *    shape, type and offset), so any change of layout, quantisation or
 *    vocabulary size changes it;
 * 2. tensor data: **all of it** when the data section is at most
 *    {@link FULL_HASH_LIMIT} bytes (the demo model: 7 MB, every retrain
 *    changes the fingerprint); otherwise samples: the first and last
 *    {@link SAMPLE_BYTES} of every tensor plus {@link SPREAD_SAMPLES}
 *    windows spread evenly over the data section (≈ 3–5 MB read for a
 *    7 B model, well under a second from a warm disk).
 *
 * Metadata other than the architecture (name, chat template, tokenizer
 * scores…) is deliberately left out: editing a chat template does not
 * change what an adapter was trained against. The sampled form can miss a
 * change confined to unsampled bytes; a fine-tune or re-quantisation
 * changes every tensor and is caught.
 */
export const FINGERPRINT_VERSION = "gguf-w1";

/** Data sections up to this size (bytes) are hashed whole; default 64 MiB. */
export const FULL_HASH_LIMIT = 64 * 1024 * 1024;
/** Bytes hashed at each end of every tensor in the sampled form. */
export const SAMPLE_BYTES = 4096;
/** Evenly spread windows of {@link SAMPLE_BYTES} over the data section. */
export const SPREAD_SAMPLES = 256;

/** Computes the fingerprint of a GGUF file (see {@link FINGERPRINT_VERSION}). */
export function ggufFingerprint(file: string, header: GgufHeader = readGgufHeader(file)): string {
  const hash = crypto.createHash("sha256");
  hash.update(`${FINGERPRINT_VERSION}\n${String(header.metadata["general.architecture"] ?? "")}\n`);
  for (const t of header.tensors) hash.update(`${t.name}\t${t.shape.join("x")}\t${t.type}\t${t.offset}\n`);
  const dataSize = header.fileSize - header.dataOffset;
  const fd = fs.openSync(file, "r");
  try {
    const read = (start: number, length: number) => {
      const n = Math.max(0, Math.min(length, header.fileSize - start));
      const buf = Buffer.alloc(n);
      if (n) fs.readSync(fd, buf, 0, n, start);
      hash.update(buf);
    };
    if (dataSize <= FULL_HASH_LIMIT) {
      for (let at = 0; at < dataSize; at += 1 << 22) read(header.dataOffset + at, Math.min(1 << 22, dataSize - at));
    } else {
      const sorted = [...header.tensors].sort((x, y) => x.offset - y.offset);
      sorted.forEach((t, i) => {
        const start = header.dataOffset + t.offset;
        const end = i + 1 < sorted.length ? header.dataOffset + sorted[i + 1]!.offset : header.fileSize;
        const size = end - start;
        read(start, Math.min(SAMPLE_BYTES, size));
        if (size > SAMPLE_BYTES) read(Math.max(start + SAMPLE_BYTES, end - SAMPLE_BYTES), Math.min(SAMPLE_BYTES, size - SAMPLE_BYTES));
      });
      const step = Math.floor(dataSize / SPREAD_SAMPLES);
      for (let i = 0; i < SPREAD_SAMPLES; i++) read(header.dataOffset + i * step, SAMPLE_BYTES);
    }
  } finally {
    fs.closeSync(fd);
  }
  return `${FINGERPRINT_VERSION}:${hash.digest("hex")}`;
}
