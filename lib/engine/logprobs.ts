import type { TokenLogprob } from "./types";

/** llama-server's `completion_probabilities` entry (`post_sampling_probs: false`: natural-log probabilities before sampling). */
export interface ServerTokenProbs {
  token: string;
  logprob: number;
  bytes?: number[];
  top_logprobs?: { token: string; logprob: number; bytes?: number[] }[];
}

/**
 * One token of the in-process binding's parallel mode: its text and, with
 * `n_probs`, the candidates the sampling chain kept (token ids and their
 * probabilities after top-k/top-p, the chosen token among them).
 */
export interface BindingToken {
  token: string;
  probs?: { tok: number; prob: number }[];
}

const utf8 = (s: string) => [...Buffer.from(s, "utf8")];

/** The log of a probability; 0 becomes -9999 (JSON has no -Infinity, and OpenAI's clients expect a number). */
export function logOf(prob: number): number {
  return prob > 0 ? Math.log(prob) : -9999;
}

/** llama-server's per-token log-probabilities → ours (already logs; `top` cut to `n`). */
export function fromServerProbs(entries: ServerTokenProbs[], n: number): TokenLogprob[] {
  return entries.map((e) => ({
    token: e.token,
    logprob: e.logprob,
    bytes: e.bytes ?? utf8(e.token),
    top: (e.top_logprobs ?? []).slice(0, n).map((t) => ({ token: t.token, logprob: t.logprob, bytes: t.bytes ?? utf8(t.token) })),
  }));
}

/**
 * The binding's probabilities → log-probabilities, with each candidate id
 * spelled by `pieceOf`. The chosen token is the most probable candidate
 * whose text is the token's (the sampler picked it); a token the chain
 * kept no candidate for gets probability 1 (it was the only one left).
 */
export function fromBindingToken(t: BindingToken, n: number, pieceOf: (id: number) => string): TokenLogprob {
  const candidates = (t.probs ?? []).map((p) => ({ token: pieceOf(p.tok), prob: p.prob })).sort((a, b) => b.prob - a.prob);
  const own = candidates.find((c) => c.token === t.token);
  return {
    token: t.token,
    logprob: logOf(own?.prob ?? 1),
    bytes: utf8(t.token),
    top: candidates.slice(0, n).map((c) => ({ token: c.token, logprob: logOf(c.prob), bytes: utf8(c.token) })),
  };
}
