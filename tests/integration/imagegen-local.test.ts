import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { AppError } from "@/lib/errors";
import { findBlobs } from "@/lib/imagegen/local-check";
import { LOCAL_GENERATOR_DIR, loadLocalGenerator, loadLocalGeneratorFrom } from "@/lib/imagegen/local";
import { seededNormal, tokenizePrompt, type TokenizerConfig } from "@/lib/imagegen/local-tokenize";
import type { ImageGenerator } from "@/lib/imagegen/types";

// The shipped shape-world generator (models/imagegen/shapes-gen, trained by
// models/train/gen.py) through lib/imagegen/local.ts and onnxruntime-node.

const root = path.resolve(import.meta.dirname, "..", "..");
const dir = path.join(root, LOCAL_GENERATOR_DIR);
const PNG = [0x89, 0x50, 0x4e, 0x47];

async function pixels(png: Uint8Array) {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { rgb: new Uint8Array(data), width: info.width, height: info.height };
}

describe("the local shape-world generator", () => {
  let gen: ImageGenerator;
  beforeAll(async () => {
    const g = await loadLocalGeneratorFrom(dir);
    if (!g) throw new Error(`no generator in ${dir}`);
    gen = g;
  });

  it("loads from the working directory's models folder and says what it is", async () => {
    const cwd = process.cwd();
    process.chdir(root);
    try {
      expect(await loadLocalGenerator()).toBe(gen);
    } finally {
      process.chdir(cwd);
    }
    expect(gen.info).toMatchObject({ id: "shapes-gen", kind: "local", sizes: ["64x64", "128x128", "256x256"] });
    expect(gen.info.defaultSteps).toBeGreaterThan(0);
    expect(gen.info.maxSteps).toBeGreaterThanOrEqual(gen.info.defaultSteps);
    expect(await loadLocalGeneratorFrom(path.join(root, "models", "imagegen", "no-such-model"))).toBeNull();
  });

  it('draws "a red circle" at 64 px: a red blob the colour checker finds', async () => {
    const [img] = await gen.generate({ prompt: "a red circle", n: 1, width: 64, height: 64, seed: 11 });
    expect(img!.width).toBe(64);
    expect(img!.seed).toBe(11);
    expect([...img!.png.slice(0, 4)]).toEqual(PNG);
    const { rgb, width, height } = await pixels(img!.png);
    expect([width, height]).toEqual([64, 64]);
    const red = findBlobs(rgb, width, height).filter((b) => b.colour === "red");
    expect(red.length).toBeGreaterThan(0);
    expect(red[0]!.area).toBeGreaterThan(40);
  });

  it("gives the same bytes for the same seed and different ones for another seed", async () => {
    const req = { prompt: "a blue square above a yellow triangle", n: 1, width: 64, height: 64, seed: 42 };
    const [a] = await gen.generate(req);
    const [b] = await gen.generate(req);
    const [c] = await gen.generate({ ...req, seed: 43 });
    expect(Buffer.from(a!.png).equals(Buffer.from(b!.png))).toBe(true);
    expect(Buffer.from(a!.png).equals(Buffer.from(c!.png))).toBe(false);
  });

  it("calls onStep once per step with a PNG preview", async () => {
    const events: { image: number; step: number; steps: number; preview?: Uint8Array }[] = [];
    await gen.generate({ prompt: "two green triangles", n: 1, width: 64, height: 64, steps: 6, seed: 3 }, {
      onStep: (e) => {
        events.push(e);
      },
    });
    expect(events.map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const e of events) {
      expect(e).toMatchObject({ image: 0, steps: 6 });
      expect([...e.preview!.slice(0, 4)]).toEqual(PNG);
    }
  });

  it("rejects promptly with an AppError when aborted, before or during the steps", async () => {
    const before = new AbortController();
    before.abort();
    await expect(gen.generate({ prompt: "a red circle", n: 1, width: 64, height: 64 }, { signal: before.signal })).rejects.toBeInstanceOf(AppError);

    const during = new AbortController();
    let steps = 0;
    let abortedAt = 0;
    const run = gen.generate(
      { prompt: "a red circle", n: 4, width: 256, height: 256, steps: 50 },
      {
        signal: during.signal,
        onStep: () => {
          if (++steps === 2) {
            abortedAt = performance.now();
            during.abort();
          }
        },
      },
    );
    const err = await run.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("bad_request:imagegen");
    expect(steps).toBe(2);
    expect(performance.now() - abortedAt).toBeLessThan(1000);
  });

  it("waits for a promise onStep returns before the next step, and an abort ends the wait", async () => {
    const steps: number[] = [];
    let release!: () => void;
    const run = gen.generate(
      { prompt: "a red circle", n: 1, width: 64, height: 64, steps: 3, seed: 5 },
      {
        onStep: (e) => {
          steps.push(e.step);
          if (e.step === 1) return new Promise<void>((r) => (release = r));
        },
      },
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(steps).toEqual([1]);
    release();
    expect(await run).toHaveLength(1);
    expect(steps).toEqual([1, 2, 3]);

    const ctrl = new AbortController();
    const paused = gen.generate(
      { prompt: "a red circle", n: 1, width: 64, height: 64, steps: 3 },
      { signal: ctrl.signal, onStep: () => new Promise<void>(() => {}) },
    );
    await new Promise((r) => setTimeout(r, 300));
    const t = performance.now();
    ctrl.abort();
    await expect(paused).rejects.toBeInstanceOf(AppError);
    expect(performance.now() - t).toBeLessThan(200);
  });

  it("makes n images with consecutive seeds, and upscales to 128 and 256", async () => {
    const imgs = await gen.generate({ prompt: "a purple circle left of an orange triangle", n: 2, width: 128, height: 128, seed: 100 });
    expect(imgs.map((i) => i.seed)).toEqual([100, 101]);
    expect(Buffer.from(imgs[0]!.png).equals(Buffer.from(imgs[1]!.png))).toBe(false);
    for (const img of imgs) expect(await sharp(img.png).metadata()).toMatchObject({ width: 128, height: 128, format: "png" });
    const [big] = await gen.generate({ prompt: "a purple circle", n: 1, width: 256, height: 256, seed: 1 });
    expect(await sharp(big!.png).metadata()).toMatchObject({ width: 256, height: 256 });
  });

  it("refuses sizes and steps it does not make", async () => {
    await expect(gen.generate({ prompt: "a red circle", n: 1, width: 100, height: 100 })).rejects.toMatchObject({ code: "bad_request:imagegen" });
    await expect(gen.generate({ prompt: "a red circle", n: 1, width: 64, height: 128 })).rejects.toMatchObject({ code: "bad_request:imagegen" });
    await expect(gen.generate({ prompt: "a red circle", n: 1, width: 64, height: 64, steps: 0 })).rejects.toMatchObject({ code: "bad_request:imagegen" });
    await expect(gen.generate({ prompt: "a red circle", n: 1, width: 64, height: 64, steps: gen.info.maxSteps + 1 })).rejects.toMatchObject({ code: "bad_request:imagegen" });
  });

  it("finds the model's files copied in after a first look found none, without a restart", async () => {
    const later = fs.mkdtempSync(path.join(root, ".cache", "gen-later-"));
    try {
      expect(await loadLocalGeneratorFrom(later)).toBeNull();
      for (const f of ["config.json", "text_encoder.onnx", "velocity.onnx"]) fs.copyFileSync(path.join(dir, f), path.join(later, f));
      const g = await loadLocalGeneratorFrom(later);
      expect(g?.info.id).toBe("shapes-gen");
    } finally {
      fs.rmSync(later, { recursive: true, force: true });
    }
  });

  it("puts the shapes where the prompt says (the layout stage), over several seeds", async () => {
    const cases = [
      { prompt: "a red circle above a blue square", a: "red", b: "blue", ok: (a: number[], b: number[]) => a[1]! < b[1]! },
      { prompt: "a green triangle left of a yellow circle", a: "green", b: "yellow", ok: (a: number[], b: number[]) => a[0]! < b[0]! },
    ];
    let right = 0;
    let total = 0;
    for (const c of cases) {
      for (const seed of [1, 2, 3]) {
        const [img] = await gen.generate({ prompt: c.prompt, n: 1, width: 64, height: 64, seed });
        const { rgb, width, height } = await pixels(img!.png);
        const blobs = findBlobs(rgb, width, height);
        const a = blobs.find((x) => x.colour === c.a);
        const b = blobs.find((x) => x.colour === c.b);
        total++;
        if (a && b && c.ok([a.cx, a.cy], [b.cx, b.cy])) right++;
      }
    }
    expect(right, `${right} of ${total} in the right place`).toBeGreaterThanOrEqual(total - 1);
  });

  it("tokenizes as the recipe does: words outside the vocabulary become <unk>", () => {
    const config = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8")) as TokenizerConfig;
    const id = (w: string) => config.vocab.indexOf(w);
    const ids = tokenizePrompt("Please draw a RED circle, above 2 blue-squares!", config);
    const { bos_id, unk_id, pad_id } = config.tokenizer;
    expect(ids.slice(0, 10)).toEqual([bos_id, unk_id, id("draw"), id("a"), id("red"), id("circle"), id("above"), id("2"), id("blue"), id("squares")]);
    expect(ids.slice(10)).toEqual(Array(config.max_tokens - 10).fill(pad_id));
    expect(tokenizePrompt("x ".repeat(100), config)).toHaveLength(config.max_tokens);
    const noise = seededNormal(5, 10_000);
    expect(Buffer.from(noise.buffer).equals(Buffer.from(seededNormal(5, 10_000).buffer))).toBe(true);
    const mean = noise.reduce((a, b) => a + b, 0) / noise.length;
    const variance = noise.reduce((a, b) => a + (b - mean) ** 2, 0) / noise.length;
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
  });
});
