/**
 * Image generation: the one shape every generator has, whether it is the project's own
 * shape-world model (onnxruntime-node, `lib/imagegen/local.ts`) or a server with OpenAI's
 * `/v1/images/generations` (IMAGE_ENGINE_URL). The chat, the API and the queue speak only this.
 */

export interface GenerateRequest {
  /** What to draw, already checked against the caps. */
  prompt: string;
  /** How many images (1 to 4). */
  n: number;
  width: number;
  height: number;
  /** Sampling steps, where the generator has them (ignored by a remote one that does not). */
  steps?: number;
  /** The seed of the first image; image i uses seed + i. Chosen at random when absent. */
  seed?: number;
}

/** One step of one image, for progress (and a preview where the generator gives one). */
export interface StepEvent {
  /** Which of the n images (0-based). */
  image: number;
  /** Steps done for this image, 1..steps. */
  step: number;
  steps: number;
  /** A PNG of what the image looks like so far, if the generator has one. */
  preview?: Uint8Array;
}

export interface GeneratedImage {
  /** The image as PNG, width × height. */
  png: Uint8Array;
  width: number;
  height: number;
  /** The seed that makes this image again (undefined when a remote server does not say). */
  seed?: number;
}

export interface GeneratorInfo {
  /** Stable id, listed by /v1/models (for example "shapes-gen" or "remote:dall-e-3"). */
  id: string;
  kind: "local" | "remote";
  /** Human name for the UI and /api/health. */
  label: string;
  /** Sizes it can make, as "WxH". */
  sizes: string[];
  /** Default and maximum sampling steps (a remote generator may ignore them). */
  defaultSteps: number;
  maxSteps: number;
}

/**
 * Called after each step. A generator that steps awaits what it returns before the next step,
 * so the caller can pause generation (answers go first on a CPU: lib/imagegen/service.ts).
 */
export type OnStep = (e: StepEvent) => void | Promise<void>;

export interface ImageGenerator {
  readonly info: GeneratorInfo;
  /**
   * Makes req.n images. Rejects with an AppError (lib/errors.ts) a user can read; an aborted
   * signal rejects promptly and leaves nothing behind.
   */
  generate(req: GenerateRequest, opts?: { signal?: AbortSignal; onStep?: OnStep }): Promise<GeneratedImage[]>;
}
