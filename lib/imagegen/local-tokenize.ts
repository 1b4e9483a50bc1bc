/**
 * The shape-world generator's tokenizer and seeded noise, exactly as the
 * Python recipe (models/train/gen_data.py) has them: lower-case the prompt,
 * take runs of [a-z0-9] as words, prepend <bos>, map each word to its id in
 * the model's vocabulary (words outside it become <unk>), truncate to
 * maxTokens and pad with <pad> (id 0).
 */
export interface TokenizerConfig {
  vocab: string[];
  max_tokens: number;
  tokenizer: { pad_id: number; unk_id: number; bos_id: number };
}

export function promptWords(prompt: string): string[] {
  return prompt.toLowerCase().match(/[a-z0-9]+/g) ?? [];
}

export function tokenizePrompt(prompt: string, config: TokenizerConfig): number[] {
  const { pad_id, unk_id, bos_id } = config.tokenizer;
  const index = new Map(config.vocab.map((w, i) => [w, i] as const));
  const ids = [bos_id, ...promptWords(prompt).map((w) => index.get(w) ?? unk_id)].slice(0, config.max_tokens);
  while (ids.length < config.max_tokens) ids.push(pad_id);
  return ids;
}

/** The unconditional row for classifier-free guidance: <bos> then padding. */
export function nullTokens(config: TokenizerConfig): number[] {
  return [config.tokenizer.bos_id, ...Array<number>(config.max_tokens - 1).fill(config.tokenizer.pad_id)];
}

/** mulberry32: a small deterministic 32-bit PRNG (uniform in [0, 1)). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n standard normal samples from a seed (Box–Muller over mulberry32): the same seed gives the same noise. */
export function seededNormal(seed: number, n: number): Float32Array {
  const rand = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = 1 - rand(); // (0, 1]
    const u2 = rand();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}
