import "server-only";
import { randomInt } from "node:crypto";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { answersFirst } from "./answers-first";
import { FairQueue } from "./fair-queue";
import { IMAGE_LIMITS, MAX_SEED } from "./limits";
import { loadLocalGenerator } from "./local";
import { createRemoteGenerator } from "./remote";
import { saveGeneratedImage } from "./save-generated";
import type { GeneratedImage, GeneratorInfo, ImageGenerator, StepEvent } from "./types";

export { IMAGE_LIMITS } from "./limits";

/** Longest one local generation pauses for answers in all, in ms (see answersFirst). */
const PAUSE_BUDGET_MS = 60_000;
/** How long "no local generator" is remembered before its files are looked for again, in ms. */
const RETRY_LOCAL_MS = 30_000;

const holder = globalThis as {
  __imageGenerator?: { at: number; generator: Promise<ImageGenerator | null> };
  __imageQueue?: FairQueue;
};

/**
 * The generator this server runs: a remote one when IMAGE_ENGINE_URL is set,
 * else the project's own shape-world model (loaded once), else null. A
 * missing local model is looked for again after 30 s (its files may arrive
 * while the server runs).
 */
export async function currentGenerator(): Promise<ImageGenerator | null> {
  const cached = holder.__imageGenerator;
  if (cached) {
    const generator = await cached.generator;
    if (generator || Date.now() - cached.at < RETRY_LOCAL_MS) return generator;
  }
  const generator = env.IMAGE_ENGINE_URL
    ? Promise.resolve<ImageGenerator>(
        createRemoteGenerator({
          url: env.IMAGE_ENGINE_URL,
          apiKey: env.IMAGE_ENGINE_API_KEY,
          model: env.IMAGE_ENGINE_MODEL,
          sizes: env.IMAGE_ENGINE_SIZES,
          timeoutMs: env.IMAGE_ENGINE_TIMEOUT_MS,
        }),
      )
    : loadLocalGenerator().catch((err: unknown) => {
        console.error("[imagegen] the local generator did not load:", err);
        return null;
      });
  holder.__imageGenerator = { at: Date.now(), generator };
  return generator;
}

/**
 * One queue for the chat and the API. The local generator runs one job at a
 * time (it shares the CPU with answers); a remote server gets two at once.
 */
const queue = (holder.__imageQueue ??= new FairQueue({
  concurrency: () => (env.IMAGE_ENGINE_URL ? 2 : 1),
  perUser: () => env.IMAGE_QUEUE_PER_USER,
}));

export interface GenerateForUserArgs {
  userId: string;
  /** What to draw; at most IMAGE_LIMITS.promptChars characters. */
  prompt: string;
  /** How many images, 1 to IMAGE_LIMITS.maxN. */
  n: number;
  /** "WxH", one of the generator's sizes. */
  size: string;
  /** Sampling steps; default the generator's. At most its maxSteps and IMAGE_LIMITS.maxSteps. */
  steps?: number;
  /** Seed of the first image (image i uses seed + i); random when absent. */
  seed?: number;
  /** Save each image in the user's library (as an upload is), marked as generated. */
  store: boolean;
  /** Stops waiting or generating; the promise then rejects with its reason and nothing is stored. */
  signal?: AbortSignal;
  /** Progress, step by step (a remote generator: one event per image done). */
  onStep?: (e: StepEvent) => void;
}

/**
 * Draws `n` images for a user, through the per-user fair queue: checks the
 * caps (400 naming the limit), waits for the user's turn (429 with
 * Retry-After when they have too many waiting), generates (the local model
 * pauses between steps while answers are written) and, with `store`,
 * saves each image in the user's library.
 */
export async function generateForUser(
  args: GenerateForUserArgs,
): Promise<{ generator: GeneratorInfo; images: Array<GeneratedImage & { attachmentId?: string }> }> {
  const prompt = args.prompt.trim();
  if (!prompt) throw new AppError("bad_request:image_prompt", "The prompt is empty: say what to draw.");
  if (prompt.length > IMAGE_LIMITS.promptChars) {
    throw new AppError("bad_request:image_prompt", `The prompt is ${prompt.length} characters long; the limit is ${IMAGE_LIMITS.promptChars}.`);
  }
  if (!Number.isInteger(args.n) || args.n < 1 || args.n > IMAGE_LIMITS.maxN) {
    throw new AppError("bad_request:image_n", `n must be a whole number from 1 to ${IMAGE_LIMITS.maxN} (the limit of images per request); it was ${args.n}.`);
  }
  const generator = await currentGenerator();
  if (!generator) {
    throw new AppError(
      "unavailable:image_generator",
      "No image generator is available. Set IMAGE_ENGINE_URL to a server with OpenAI's /v1/images/generations (stable-diffusion.cpp's server, LocalAI), or add the shape-world model's files (README: Image generation).",
      { retryAfterSeconds: 30 },
    );
  }
  const { info } = generator;
  if (!info.sizes.includes(args.size)) {
    throw new AppError("bad_request:image_size", `size must be one of ${info.sizes.join(", ")} (the sizes ${info.id} makes); it was '${args.size}'.`);
  }
  const [width, height] = args.size.split("x").map(Number) as [number, number];
  const maxSteps = Math.min(info.maxSteps, IMAGE_LIMITS.maxSteps);
  const steps = args.steps ?? info.defaultSteps;
  if (!Number.isInteger(steps) || steps < 1 || steps > maxSteps) {
    throw new AppError("bad_request:image_steps", `steps must be a whole number from 1 to ${maxSteps} (the limit of steps); it was ${steps}.`);
  }
  const lastSeed = MAX_SEED - (args.n - 1);
  if (args.seed !== undefined && (!Number.isInteger(args.seed) || args.seed < 0 || args.seed > lastSeed)) {
    throw new AppError("bad_request:image_seed", `seed must be a whole number from 0 to ${lastSeed} (image i uses seed + i); it was ${args.seed}.`);
  }
  const seed = args.seed ?? randomInt(0, lastSeed + 1);

  const images = await queue.run(
    args.userId,
    async () => {
      if (info.kind === "remote") return generator.generate({ prompt, n: args.n, width, height, steps, seed }, { signal: args.signal, onStep: args.onStep });
      // Locally one image at a time, each step after the answers being written: progress pauses, honestly.
      const pause = answersFirst({ budgetMs: PAUSE_BUDGET_MS });
      const out: GeneratedImage[] = [];
      for (let i = 0; i < args.n; i++) {
        await pause(args.signal);
        const [image] = await generator.generate(
          { prompt, n: 1, width, height, steps, seed: seed + i },
          {
            signal: args.signal,
            // A generator that awaits what onStep returns pauses between steps too.
            onStep: (e) => {
              args.onStep?.({ ...e, image: i });
              return pause(args.signal).catch(() => {});
            },
          },
        );
        if (!image) throw new AppError("internal:image_generator", "The local generator returned no image.");
        out.push({ ...image, seed: image.seed ?? seed + i });
      }
      return out;
    },
    args.signal,
  );
  args.signal?.throwIfAborted();
  if (!args.store) return { generator: info, images };
  const stored: Array<GeneratedImage & { attachmentId: string }> = [];
  for (const image of images) {
    const attachment = await saveGeneratedImage({ userId: args.userId, png: image.png, generated: { prompt, seed: image.seed ?? null, generator: info.id } });
    stored.push({ ...image, attachmentId: attachment.id });
  }
  return { generator: info, images: stored };
}

/** How long /api/health waits for the generator to load before it says "loading", in ms. */
const HEALTH_WAIT_MS = 1000;

/** What /api/health says about image generation (no internal host names); never waits long for a model loading. */
export async function generatorHealth(): Promise<{ status: "ready"; id: string; kind: "local" | "remote"; label: string } | { status: "none" | "loading" }> {
  const loading = Symbol("loading");
  const generator = await Promise.race([
    currentGenerator().catch(() => null),
    new Promise<typeof loading>((resolve) => setTimeout(() => resolve(loading), HEALTH_WAIT_MS).unref()),
  ]);
  if (generator === loading) return { status: "loading" };
  if (!generator) return { status: "none" };
  const { id, kind, label } = generator.info;
  return { status: "ready", id, kind, label: kind === "remote" ? "Remote image server" : label };
}
