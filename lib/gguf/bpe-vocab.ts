/**
 * A byte-level BPE ("gpt2" tokenizer model) vocabulary that llama.cpp
 * accepts, as Qwen, SmolLM, Mistral's Tekken and most recent models use:
 * the 256 byte symbols in GPT-2's byte-to-unicode spelling, a few merges
 * (llama.cpp requires the list), then the special tokens the family's chat
 * template and image markers need.
 */
export interface BpeVocab {
  kind: "bpe";
  /** `tokenizer.ggml.pre`: the pre-tokenizer llama.cpp applies ("qwen2", "smollm", "tekken", "default"…). */
  pre: string;
  tokens: string[];
  /** llama.cpp token types: 1 normal, 3 control, 4 user-defined. */
  types: number[];
  merges: string[];
  bos: number;
  eos: number;
  /** Padding token, when the family has one. */
  pad?: number;
}

/** GPT-2's printable spelling of each byte value (bytes_to_unicode). */
export function byteSymbols(): string[] {
  const direct = new Set<number>();
  for (let b = 0x21; b <= 0x7e; b++) direct.add(b);
  for (let b = 0xa1; b <= 0xac; b++) direct.add(b);
  for (let b = 0xae; b <= 0xff; b++) direct.add(b);
  let extra = 0;
  return Array.from({ length: 256 }, (_, b) => (direct.has(b) ? String.fromCodePoint(b) : String.fromCodePoint(256 + extra++)));
}

/** A handful of English merges, so the tokenizer joins some bytes (and llama.cpp has a merge list). */
const MERGES = ["Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r", "o n", "Ġ s", "r e", "a t", "Ġ c", "o r", "e n", "Ġ w", "i s", "Ġ i"];

export function buildBpeVocab({
  pre,
  specials,
  bos,
  eos,
  pad,
}: {
  pre: string;
  /** Control tokens, in id order after the byte symbols and merges. */
  specials: readonly string[];
  /** Which of `specials` is BOS / EOS / padding. */
  bos: string;
  eos: string;
  pad?: string;
}): BpeVocab {
  const tokens = byteSymbols();
  const types = tokens.map(() => 1);
  for (const m of MERGES) {
    tokens.push(m.replace(" ", ""));
    types.push(1);
  }
  const seen = new Set(tokens);
  for (const s of specials) {
    if (seen.has(s)) throw new Error(`special token ${s} is already in the vocabulary`);
    seen.add(s);
    tokens.push(s);
    types.push(3);
  }
  const id = (s: string) => {
    const i = tokens.indexOf(s);
    if (i < 0) throw new Error(`${s} is not among the special tokens`);
    return i;
  };
  return { kind: "bpe", pre, tokens, types, merges: MERGES, bos: id(bos), eos: id(eos), pad: pad === undefined ? undefined : id(pad) };
}

/**
 * Token types for `randomWeights` that leave only printable ASCII pieces
 * normal (1), so a random-weight model never samples a lone byte of a
 * multi-byte character: llama-server's final output parser rejects such a
 * text with HTTP 500 ("does not match the expected Content-only format"),
 * which would make every test answer an error (the engine's own handling of
 * that case is tested apart).
 */
export function printableTypes(vocab: BpeVocab): number[] {
  const printable = (t: string) => [...t].every((c) => c === "\u0120" || (c >= "!" && c <= "~"));
  return vocab.tokens.map((t, i) => (vocab.types[i] === 1 && printable(t) ? 1 : 0));
}
