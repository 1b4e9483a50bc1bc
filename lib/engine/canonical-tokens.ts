/** llama.cpp's token type for byte-fallback tokens (`<0xNN>`). */
const BYTE_TOKEN = 6;
/** Its type for ordinary tokens. */
const NORMAL_TOKEN = 1;

/**
 * Byte-fallback tokens the tokenizer never produces: `<0xNN>` for an ASCII
 * character that has a token of its own (SPM writes a space as `▁`). A
 * model never sees them in training, but a grammar accepts them as readily
 * as the real token, since both spell the same text. Under a grammar that
 * forces text the model would not write (JSON from a model that answers in
 * sentences), greedy sampling then takes one as often as not and the model
 * continues from input it has never seen. Measured on the demo model: the
 * red circle's colour under a JSON schema was "purple" with them allowed
 * and "red" with them banned (llama-server, greedy). Applied on llama-server
 * only (see Engine.generate): the in-process binding cannot take a logit bias.
 */
export function nonCanonicalByteTokens(tokens: string[], types: number[] | undefined): number[] {
  if (!types) return [];
  const own = new Set(tokens.filter((_, i) => types[i] === NORMAL_TOKEN));
  const out: number[] = [];
  for (const [i, t] of tokens.entries()) {
    if (types[i] !== BYTE_TOKEN) continue;
    const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(t);
    if (!m) continue;
    const byte = parseInt(m[1]!, 16);
    if (byte >= 0x80) continue;
    const char = String.fromCharCode(byte);
    if (own.has(char) || (char === " " && own.has("▁"))) out.push(i);
  }
  return out;
}
