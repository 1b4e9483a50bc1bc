import { beforeEach, describe, expect, it, vi } from "vitest";
import type { GenerateRequest, ImageGenerator, StepEvent } from "@/lib/imagegen/types";

// generateForUser with a stand-in local generator and chat engine: the caps,
// one image per call with its own seed, and the rule it shares with captions
// (on a CPU model it waits while an answer is being written, between images
// and, for a generator that awaits onStep, between steps).

const world = vi.hoisted(() => ({
  /** The chat engine's state as idle-engine reads it; null = no model loaded. */
  engine: { busy: false, kind: "in-process", gpuLayers: 0 } as { busy: boolean; kind: string; gpuLayers: number } | null,
  calls: [] as GenerateRequest[],
  /** What happened, in order: "step i/s of image k", "busy", "idle". */
  log: [] as string[],
  /** Whether the stand-in awaits what onStep returns. */
  awaitsSteps: true,
}));

vi.mock("@/lib/env", () => ({ env: { IMAGE_QUEUE_PER_USER: 4, UPLOAD_MAX_BYTES: 1 << 24, UPLOAD_MAX_PIXELS: 1 << 24, UPLOAD_MAX_SIDE: 2048 } }));
vi.mock("@/lib/engine/get-engine", () => ({
  loadedEngine: () =>
    world.engine && {
      kind: world.engine.kind,
      info: { gpuLayers: world.engine.gpuLayers },
      status: () => ({ slotsBusy: world.engine!.busy ? 1 : 0, queueLength: 0 }),
    },
}));
vi.mock("@/lib/imagegen/save-generated", () => ({ saveGeneratedImage: async () => ({ id: "att-1" }) }));
vi.mock("@/lib/imagegen/local", () => {
  const generator: ImageGenerator = {
    info: { id: "shapes-gen", kind: "local", label: "Shapes", sizes: ["64x64", "128x128"], defaultSteps: 3, maxSteps: 8 },
    async generate(req, opts = {}) {
      world.calls.push(req);
      const steps = req.steps ?? 3;
      const out = [];
      for (let k = 0; k < req.n; k++) {
        for (let i = 1; i <= steps; i++) {
          opts.signal?.throwIfAborted();
          world.log.push(`step ${i}/${steps} of image ${k}`);
          const wait = (opts.onStep as ((e: StepEvent) => unknown) | undefined)?.({ image: k, step: i, steps });
          if (world.awaitsSteps) await wait;
        }
        out.push({ png: new Uint8Array([k]), width: req.width, height: req.height, seed: (req.seed ?? 0) + k });
      }
      return out;
    },
  };
  return { loadLocalGenerator: async () => generator };
});

const { generateForUser, IMAGE_LIMITS } = await import("@/lib/imagegen/service");

const base = { userId: "u1", prompt: "a red circle", n: 1, size: "64x64", store: false };

beforeEach(() => {
  world.engine = { busy: false, kind: "in-process", gpuLayers: 0 };
  world.calls = [];
  world.log = [];
  world.awaitsSteps = true;
});

describe("generateForUser", () => {
  it("refuses what is past each cap with a 400 that names the limit", async () => {
    const refusal = (args: Partial<typeof base> & { steps?: number; seed?: number }) => generateForUser({ ...base, ...args }).catch((e: { status: number; message: string }) => e);
    await expect(refusal({ prompt: "x".repeat(IMAGE_LIMITS.promptChars + 1) })).resolves.toMatchObject({ status: 400, message: expect.stringMatching(/limit is 1000/) });
    await expect(refusal({ prompt: " " })).resolves.toMatchObject({ status: 400, message: expect.stringMatching(/empty/) });
    await expect(refusal({ n: 5 })).resolves.toMatchObject({ status: 400, message: expect.stringMatching(/from 1 to 4/) });
    await expect(refusal({ size: "256x256" })).resolves.toMatchObject({ status: 400, message: expect.stringMatching(/one of 64x64, 128x128/) });
    // The generator's own maximum when it is below IMAGE_LIMITS.maxSteps.
    await expect(refusal({ steps: 9 })).resolves.toMatchObject({ status: 400, message: expect.stringMatching(/from 1 to 8/) });
    await expect(refusal({ seed: 2 ** 31 })).resolves.toMatchObject({ status: 400, message: expect.stringMatching(/seed/) });
    expect(world.calls).toEqual([]);
  });

  it("makes the local images one per call, seed + i each, with step events numbered by image", async () => {
    const events: StepEvent[] = [];
    const r = await generateForUser({ ...base, n: 3, size: "128x128", seed: 100, steps: 2, onStep: (e) => events.push(e) });
    expect(world.calls.map((c) => [c.n, c.seed, c.width, c.steps])).toEqual([
      [1, 100, 128, 2],
      [1, 101, 128, 2],
      [1, 102, 128, 2],
    ]);
    expect(r.images.map((i) => i.seed)).toEqual([100, 101, 102]);
    expect(r.generator.id).toBe("shapes-gen");
    expect(events.map((e) => `${e.image}:${e.step}/${e.steps}`)).toEqual(["0:1/2", "0:2/2", "1:1/2", "1:2/2", "2:1/2", "2:2/2"]);
  });

  it("on a CPU model, waits while an answer is being written: the steps pause and go on after it", async () => {
    const run = generateForUser({ ...base, steps: 3, onStep: (e) => {
      // An answer starts after the first step and ends 300 ms later.
      if (e.step === 1) {
        world.engine!.busy = true;
        world.log.push("busy");
        setTimeout(() => {
          world.log.push("idle");
          world.engine!.busy = false;
        }, 300);
      }
    } });
    await run;
    expect(world.log).toEqual(["step 1/3 of image 0", "busy", "idle", "step 2/3 of image 0", "step 3/3 of image 0"]);
  });

  it("does not start an image while an answer is being written, and an abort while waiting rejects at once", async () => {
    world.engine!.busy = true;
    const stop = new AbortController();
    const run = generateForUser({ ...base, signal: stop.signal });
    await new Promise((r) => setTimeout(r, 250));
    expect(world.calls).toEqual([]);
    const t0 = Date.now();
    stop.abort(new Error("stopped"));
    await expect(run).rejects.toThrow("stopped");
    expect(Date.now() - t0).toBeLessThan(150);
    expect(world.calls).toEqual([]);
  });

  it("does not wait for a chat model on a GPU or a remote engine", async () => {
    for (const engine of [{ busy: true, kind: "in-process", gpuLayers: 33 }, { busy: true, kind: "remote", gpuLayers: 0 }]) {
      world.engine = engine;
      world.calls = [];
      const t0 = Date.now();
      await generateForUser(base);
      expect(world.calls).toHaveLength(1);
      expect(Date.now() - t0).toBeLessThan(200);
    }
  });

  it("with store, answers each image's attachment id", async () => {
    const r = await generateForUser({ ...base, n: 2, store: true });
    expect(r.images.map((i) => i.attachmentId)).toEqual(["att-1", "att-1"]);
  });
});
