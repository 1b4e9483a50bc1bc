import type { GenerationUsage } from "./types";

/**
 * The final usage of a generation, with the timing figures every backend
 * derives the same way: time to the first token (or to the end, when none
 * came) and tokens per second after the first.
 */
export function finalUsage({
  started,
  firstTokenAt,
  streamedTokens,
  ...rest
}: Omit<GenerationUsage, "ttftMs" | "tokensPerSecond" | "queueMs"> & {
  /** performance.now() when the request reached the backend. */
  started: number;
  /** performance.now() of the first token; 0 when none came. */
  firstTokenAt: number;
  /** Tokens the caller saw, for the decode rate. */
  streamedTokens: number;
}): GenerationUsage {
  const now = performance.now();
  const genMs = firstTokenAt ? now - firstTokenAt : 0;
  return {
    ...rest,
    ttftMs: firstTokenAt ? firstTokenAt - started : now - started,
    tokensPerSecond: streamedTokens > 1 && genMs > 0 ? ((streamedTokens - 1) * 1000) / genMs : 0,
    queueMs: 0,
  };
}
