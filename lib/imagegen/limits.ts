/** The caps of image generation. */
export interface ImageLimits {
  /** Longest prompt, in characters. */
  promptChars: number;
  /** Most images per request. */
  maxN: number;
  /** The local shape-world generator's sizes; a remote one says its own in `GeneratorInfo.sizes`. */
  sizes: string[];
  /** Most sampling steps, whatever the generator allows (its own `maxSteps` may be lower). */
  maxSteps: number;
}

/**
 * The same caps for the chat and the API (no server-only import: the
 * composer may show them). Each request is also held to the running
 * generator's own sizes and steps (`GeneratorInfo`).
 */
export const IMAGE_LIMITS: ImageLimits = { promptChars: 1000, maxN: 4, sizes: ["64x64", "128x128", "256x256"], maxSteps: 100 };

/** Largest seed (image i of a request uses seed + i, and every one fits a 32-bit integer column). */
export const MAX_SEED = 2 ** 31 - 1;
