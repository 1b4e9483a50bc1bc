import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { AppError } from "@/lib/errors";
import { conditioningText, layoutForPrompt, type LayoutConfig } from "./local-layout";
import { nullTokens, seededNormal, tokenizePrompt, type TokenizerConfig } from "./local-tokenize";
import type { GeneratedImage, GenerateRequest, ImageGenerator, OnStep } from "./types";

/**
 * The project's own shape-world generator (models/imagegen/shapes-gen, trained by
 * models/train/gen.py): a word-level text encoder and a small rectified-flow UNet run
 * with onnxruntime-node on one thread. It draws at 64×64; 128 and 256 are that image
 * upscaled with sharp. Two stages: the prompt is planned into a coarse layout (where each
 * shape goes; local-layout.ts), then the UNet draws from the prompt and that layout.
 * Euler steps with classifier-free guidance (cond + uncond rows as one batch of 2; the
 * uncond row has neither prompt nor layout); noise and layout come from the seed, so a
 * seed gives the same bytes.
 */

export const LOCAL_GENERATOR_DIR = path.join("models", "imagegen", "shapes-gen");
const SIZES = [64, 128, 256];

interface GenConfig extends TokenizerConfig {
  id: string;
  image_size: number;
  default_steps: number;
  max_steps: number;
  guidance_scale: number;
  /** Time-grid shift (1 = uniform steps). */
  time_shift?: number;
  /** The layout stage; models trained before it have none. */
  layout?: LayoutConfig;
}

type Ort = typeof import("onnxruntime-node");
type Session = import("onnxruntime-node").InferenceSession;

const cache = new Map<string, Promise<ImageGenerator | null>>();

/** The generator in models/imagegen/shapes-gen (relative to the working directory), or null when its files are not there. */
export async function loadLocalGenerator(): Promise<ImageGenerator | null> {
  return loadLocalGeneratorFrom(path.resolve(process.cwd(), LOCAL_GENERATOR_DIR));
}

/**
 * The same from another folder (tests, evaluation); loaded once per folder per process.
 * A folder without the files is not remembered: files copied in later are found on the
 * next call, without a restart.
 */
export function loadLocalGeneratorFrom(dir: string): Promise<ImageGenerator | null> {
  let p = cache.get(dir);
  if (!p) {
    p = load(dir).then(
      (gen) => {
        if (!gen) cache.delete(dir);
        return gen;
      },
      (err: unknown) => {
        cache.delete(dir);
        throw err;
      },
    );
    cache.set(dir, p);
  }
  return p;
}

async function load(dir: string): Promise<ImageGenerator | null> {
  const files = ["config.json", "text_encoder.onnx", "velocity.onnx"].map((f) => path.join(dir, f));
  if (!files.every((f) => fs.existsSync(f))) return null;
  const config = JSON.parse(fs.readFileSync(files[0]!, "utf8")) as GenConfig;
  const ort: Ort = await import("onnxruntime-node");
  // One thread: generation shares the machine with the chat model.
  const options = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: "sequential" } as const;
  const [text, velocity] = await Promise.all([ort.InferenceSession.create(files[1]!, options), ort.InferenceSession.create(files[2]!, options)]);
  return new LocalGenerator(ort, config, text, velocity);
}

function cancelled(): AppError {
  return new AppError("bad_request:imagegen", "The image generation was cancelled.");
}

/** Waits for p, or rejects with `cancelled()` as soon as the signal aborts. */
function untilAborted(p: Promise<void>, signal?: AbortSignal): Promise<void> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(cancelled());
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(cancelled());
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

class LocalGenerator implements ImageGenerator {
  readonly info;

  constructor(
    private readonly ort: Ort,
    private readonly config: GenConfig,
    private readonly text: Session,
    private readonly velocity: Session,
  ) {
    this.info = {
      id: "shapes-gen",
      kind: "local" as const,
      label: `Shape world (local, drawn at ${config.image_size} px; 128 and 256 are upscaled)`,
      sizes: SIZES.map((s) => `${s}x${s}`),
      defaultSteps: config.default_steps,
      maxSteps: config.max_steps,
    };
  }

  /** The sampler's time grid: uniform in s, shifted towards the noisy end (t = shift·s / (1 + (shift − 1)·s)), where the layout is decided. */
  private time(s: number): number {
    const k = this.config.time_shift ?? 1;
    return (k * s) / (1 + (k - 1) * s);
  }

  async generate(req: GenerateRequest, opts: { signal?: AbortSignal; onStep?: OnStep } = {}): Promise<GeneratedImage[]> {
    const { signal, onStep } = opts;
    if (signal?.aborted) throw cancelled();
    const { width, height } = req;
    if (width !== height || !SIZES.includes(width)) {
      throw new AppError("bad_request:imagegen", `This generator makes ${this.info.sizes.join(", ")} images.`);
    }
    const steps = req.steps ?? this.config.default_steps;
    if (!Number.isInteger(steps) || steps < 1 || steps > this.config.max_steps) {
      throw new AppError("bad_request:imagegen", `Steps must be a whole number from 1 to ${this.config.max_steps}.`);
    }
    const n = req.n;
    if (!Number.isInteger(n) || n < 1) throw new AppError("bad_request:imagegen", "n must be at least 1.");
    const seed = req.seed ?? Math.floor(Math.random() * 2 ** 31);

    const { ort } = this;
    const L = this.config.max_tokens;
    const text = this.config.layout ? conditioningText(req.prompt) : req.prompt;
    const tokens = [...tokenizePrompt(text, this.config), ...nullTokens(this.config)];
    const enc = await this.text.run({ tokens: new ort.Tensor("int64", BigInt64Array.from(tokens.map(BigInt)), [2, L]) });
    const ctx = enc.ctx!;
    const bias = enc.bias!;
    const pooled = enc.pooled!;

    const S = this.config.image_size;
    const plane = 3 * S * S;
    const g = this.config.guidance_scale;
    const out: GeneratedImage[] = [];
    for (let image = 0; image < n; image++) {
      const imageSeed = seed + image;
      const x = seededNormal(imageSeed >>> 0, plane);
      const batch = new Float32Array(2 * plane);
      const lay = this.config.layout;
      let layout: import("onnxruntime-node").Tensor | undefined;
      if (lay) {
        const { map } = layoutForPrompt(req.prompt, imageSeed >>> 0, lay);
        const rows = new Float32Array(2 * map.length);
        rows.set(map, 0); // the uncond row stays empty
        layout = new ort.Tensor("float32", rows, [2, map.length / (lay.size * lay.size), lay.size, lay.size]);
      }
      for (let i = 0; i < steps; i++) {
        if (signal?.aborted) throw cancelled();
        const t = this.time(1 - i / steps);
        const dt = t - this.time(1 - (i + 1) / steps);
        batch.set(x, 0);
        batch.set(x, plane);
        const res = await this.velocity.run({
          x: new ort.Tensor("float32", batch, [2, 3, S, S]),
          t: new ort.Tensor("float32", Float32Array.of(t, t), [2]),
          ctx,
          bias,
          pooled,
          ...(layout ? { layout } : {}),
        });
        if (signal?.aborted) throw cancelled();
        const v = res.v!.data as Float32Array;
        let preview: Float32Array | undefined;
        if (onStep) preview = new Float32Array(plane);
        for (let j = 0; j < plane; j++) {
          const vu = v[plane + j]!;
          const vg = vu + g * (v[j]! - vu);
          if (preview) preview[j] = x[j]! - t * vg; // the current estimate of the image
          x[j] = x[j]! - dt * vg;
        }
        if (onStep) {
          // The caller may pause us (answers first on a CPU): wait, but not past an abort.
          const paused = onStep({ image, step: i + 1, steps, preview: await toPng(preview!, S, S) });
          if (paused) await untilAborted(paused, signal);
        }
      }
      out.push({ png: await toPng(x, S, width), width, height, seed: imageSeed });
    }
    return out;
  }
}

/** NCHW floats in [-1, 1] → an RGB PNG, upscaled to `size` when larger. */
async function toPng(x: Float32Array, S: number, size: number): Promise<Uint8Array> {
  const rgb = Buffer.alloc(S * S * 3);
  const plane = S * S;
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      const val = Math.round((Math.min(1, Math.max(-1, x[c * plane + p]!)) + 1) * 127.5);
      rgb[p * 3 + c] = val;
    }
  }
  let img = sharp(rgb, { raw: { width: S, height: S, channels: 3 } });
  if (size !== S) img = img.resize(size, size, { kernel: "mitchell" });
  return new Uint8Array(await img.png().toBuffer());
}
