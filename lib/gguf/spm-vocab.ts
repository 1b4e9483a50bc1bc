/**
 * A SentencePiece-style ("llama" tokenizer model) vocabulary that llama.cpp
 * accepts: control tokens, 256 byte-fallback tokens, then pieces. With only
 * single-character pieces it is a character-level tokenizer, which is what
 * the shipped demo model uses; `extraPieces` lets a test model reach a
 * realistic vocabulary size.
 */
export interface SpmVocab {
  tokens: string[];
  scores: number[];
  /** llama.cpp token types: 1 normal, 2 unknown, 3 control, 6 byte. */
  types: number[];
  unk: number;
  bos: number;
  eos: number;
}

/** The SentencePiece word-boundary marker that stands for a space. */
export const SPACE_MARK = "\u2581";

export const UNK = 0;
export const BOS = 1;
export const EOS = 2;

/** Printable ASCII without the space (which is SPACE_MARK). */
export const PRINTABLE_ASCII = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i));

/**
 * @param extraPieces normal pieces appended after the printable ones.
 * @param specials control tokens appended last (chat and image markers such
 *   as "<start_of_turn>"); their ids follow every other token.
 */
export function buildSpmVocab({ extraPieces = [], specials = [] }: { extraPieces?: readonly string[]; specials?: readonly string[] } = {}): SpmVocab {
  const tokens = ["<unk>", "<s>", "</s>"];
  const types = [2, 3, 3];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(6);
  }
  const seen = new Set(tokens);
  for (const piece of [SPACE_MARK, ...PRINTABLE_ASCII, ...extraPieces]) {
    if (seen.has(piece)) continue;
    seen.add(piece);
    tokens.push(piece);
    types.push(1);
  }
  for (const piece of specials) {
    if (seen.has(piece)) throw new Error(`special token ${piece} is already in the vocabulary`);
    seen.add(piece);
    tokens.push(piece);
    types.push(3);
  }
  // Longer pieces score higher so the SPM merge loop prefers them.
  const scores = tokens.map((t, i) => (types[i] === 1 ? -1000 + [...t].length : 0));
  return { tokens, scores, types, unk: UNK, bos: BOS, eos: EOS };
}

/** Deterministic filler pieces ("▁ab", "abc", …) to grow a vocabulary to `size`. */
export function fillerPieces(size: number): string[] {
  const letters = "abcdefghijklmnopqrstuvwxyz";
  const out: string[] = [];
  const base = 3 + 256 + 1 + PRINTABLE_ASCII.length;
  outer: for (const len of [2, 3, 4]) {
    const total = letters.length ** len;
    for (let n = 0; n < total; n++) {
      let s = "";
      for (let k = 0, v = n; k < len; k++, v = Math.floor(v / letters.length)) s += letters[v % letters.length];
      for (const piece of [SPACE_MARK + s, s]) {
        if (base + out.length >= size) break outer;
        out.push(piece);
      }
    }
  }
  return out;
}
