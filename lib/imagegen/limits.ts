/**
 * The caps of image generation, the same for the chat and the API (no
 * server-only import: the composer shows them). Each request is also held to
 * the running generator's own sizes and steps (`GeneratorInfo`).
 */
export const IMAGE_LIMITS = {
  /** Longest prompt, in characters. */
  promptChars: 1000,
  /** Most images per request. */
  maxN: 4,
  /** The local shape-world generator's sizes; a remote one says its own in `GeneratorInfo.sizes`. */
  sizes: ["64x64", "128x128", "256x256"],
  /** Most sampling steps, whatever the generator allows. */
  maxSteps: 100,
} as const satisfies { promptChars: number; maxN: number; sizes: readonly string[]; maxSteps: number };

/** Largest seed (image i of a request uses seed + i, and every one fits a 32-bit integer column). */
export const MAX_SEED = 2 ** 31 - 1;
