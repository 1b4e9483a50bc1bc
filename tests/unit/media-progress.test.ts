import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { modelInputs, type ModelHealth } from "@/app/_components/model-status";
import { env } from "@/lib/env";
import { decodeMedia, frameBudget } from "@/lib/media/decode-media";
import { withDecodeProgress, type DecodeProgress } from "@/lib/media/decode-progress";
import { salesCsv, textPdf } from "../helpers/media-files";

// The decoding process reports how far it has come (pages rendered of all,
// frames of those planned, …), and the request that started it is told,
// in order, from 0 to 100 %; and what the composer says each kind of file
// becomes for the loaded model.

const work = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-progress-"));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

async function decodeWithProgress(kind: "pdf" | "data", format: string, bytes: Buffer) {
  const dir = fs.mkdtempSync(path.join(work, "job-"));
  const input = path.join(dir, `source.${format}`);
  fs.writeFileSync(input, bytes);
  const seen: DecodeProgress[] = [];
  const result = await withDecodeProgress((p) => seen.push(p), () => decodeMedia({ kind, format, input, outDir: dir }));
  return { result, fractions: seen.map((p) => p.fraction), kinds: [...new Set(seen.map((p) => p.kind))] };
}

describe("decoding progress", () => {
  it("reports a PDF's pages as they are rendered, from 0 to 1, to the request that asked", async () => {
    const pdf = textPdf(["one", "two", "three", "four"].map((text) => ({ text })));
    const { result, fractions, kinds } = await decodeWithProgress("pdf", "pdf", pdf);
    expect(result.images).toHaveLength(4);
    expect(kinds).toEqual(["pdf"]);
    expect(fractions).toEqual([0, 0.25, 0.5, 0.75, 1]);
  }, 60_000);

  it("reports a table's steps in order, and nothing reaches a request that did not ask", async () => {
    const { fractions } = await decodeWithProgress("data", "csv", salesCsv(20));
    expect(fractions[0]).toBe(0);
    expect(fractions.at(-1)).toBe(1);
    expect([...fractions].sort((a, b) => a - b)).toEqual(fractions);
    // Outside withDecodeProgress: decoded the same, told to no one.
    const dir = fs.mkdtempSync(path.join(work, "job-"));
    fs.writeFileSync(path.join(dir, "source.csv"), salesCsv(5));
    const plain = await decodeMedia({ kind: "data", format: "csv", input: path.join(dir, "source.csv"), outDir: dir });
    expect(plain.info.kind).toBe("data");
  }, 60_000);
});

describe("what the loaded model takes", () => {
  const ready = (model: Exclude<ModelHealth["model"], string | undefined>): ModelHealth => ({ status: "ready", model });
  const how = (h: ModelHealth | null) => Object.fromEntries(modelInputs(h).map((i) => [i.kind, i.how]));

  it("a vision model: images as they are; video, PDF and tables as images; audio as a spectrogram, saying so", () => {
    const inputs = modelInputs(ready({ name: "mini-llava", vision: true }));
    expect(how(ready({ name: "mini-llava", vision: true }))).toEqual({ image: "native", video: "converted", audio: "converted", pdf: "converted", data: "converted" });
    expect(inputs.find((i) => i.kind === "audio")!.reason).toBe("This model can't hear audio: it gets the audio's spectrogram, a picture of its sound, instead.");
  });

  it("a model that hears takes audio itself (its backend says so)", () => {
    const omni: ModelHealth = { status: "ready", model: { name: "omni", vision: true }, backend: { backend: "llama-server", variant: "cpu", variantReason: "", gpuLayers: 0, audio: true } };
    expect(how(omni)).toEqual({ image: "native", video: "converted", audio: "native", pdf: "converted", data: "converted" });
    // An audio-only model: audio, and nothing that reaches a model as images.
    const ultravox: ModelHealth = { ...omni, model: { name: "ultravox", vision: false } };
    expect(how(ultravox)).toEqual({ image: "no", video: "no", audio: "native", pdf: "no", data: "no" });
    expect(modelInputs(ultravox)[0]!.reason).toMatch(/^ultravox hears audio but can't see/);
  });

  it("a text-only model takes none, and says why", () => {
    const inputs = modelInputs(ready({ name: "tiny-text", vision: false }));
    expect(inputs.every((i) => i.how === "no")).toBe(true);
    expect(inputs[0]!.reason).toMatch(/^tiny-text reads text only: it can't take images, video, audio, PDFs or tables/);
  });

  it("while the model's status is not known, nothing is greyed out (the server decides)", () => {
    expect(Object.values(how(null)).includes("no")).toBe(false);
    expect(Object.values(how({ status: "loading", progress: 0.5 })).includes("no")).toBe(false);
  });
});

describe("the frame budget", () => {
  it("is VIDEO_MAX_FRAMES, or what 3/4 of the model's context holds at its image cost, at least one", () => {
    const max = env.VIDEO_MAX_FRAMES;
    expect(frameBudget(undefined)).toBe(max);
    expect(frameBudget({ vision: false, contextSize: 2048, imageTokens: 0 })).toBe(max);
    expect(frameBudget({ vision: true, contextSize: 1_000_000, imageTokens: 64 })).toBe(max);
    // LLaVA-1.5 at 576 tokens an image in a 4k context: 3072 / 576 = 5 frames.
    expect(frameBudget({ vision: true, contextSize: 4096, imageTokens: 576 })).toBe(Math.min(max, 5));
    expect(frameBudget({ vision: true, contextSize: 512, imageTokens: 576 })).toBe(1);
  });
});
