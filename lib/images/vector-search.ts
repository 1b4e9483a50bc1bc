/**
 * Exact cosine search over L2-normalised vectors held in one flat
 * Float32Array (row-major, `dim` floats per row). Pure code, no I/O: the
 * route layer and `npm run bench:search` use the same functions.
 */

/** `v` scaled to unit length (a zero vector stays zero). */
export function normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum) || 1;
  for (let i = 0; i < v.length; i++) v[i]! /= norm;
  return v;
}

/** Dot product of `query` with every row: the cosine similarity of unit vectors. */
export function cosineScores(matrix: Float32Array, dim: number, query: Float32Array): Float32Array {
  const rows = matrix.length / dim;
  const scores = new Float32Array(rows);
  for (let r = 0, off = 0; r < rows; r++, off += dim) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += matrix[off + d]! * query[d]!;
    scores[r] = s;
  }
  return scores;
}

/** Indices of the `k` highest scores, best first. */
export function topK(scores: Float32Array, k: number): number[] {
  if (k <= 0) return [];
  // A small sorted buffer beats sorting every score when k ≪ n.
  const best: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (best.length === k && s <= scores[best[k - 1]!]!) continue;
    let j = best.length;
    while (j > 0 && scores[best[j - 1]!]! < s) j--;
    best.splice(j, 0, i);
    if (best.length > k) best.pop();
  }
  return best;
}

/** Float32 vector ↔ the bytes stored in the database (little-endian). */
export const vectorToBytes = (v: Float32Array): Uint8Array<ArrayBuffer> => new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) as ArrayBuffer);
export const bytesToVector = (b: Uint8Array): Float32Array => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
