import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scanCatalog } from "@/lib/engine/catalog";
import { Engine } from "@/lib/engine/engine";
import type { EngineMessage } from "@/lib/engine/types";
import { drain, llamaServerBinary, loadEngine } from "../helpers/engine";
import { COLOURS, SHAPES, singleShapeSvg } from "../helpers/shape-scenes";

// Issue 25, item 7, on the remote engine: answers never cross. Two
// llama-servers on loopback, each with the shipped demo model and 4 slots,
// stand in for two hosts; the remote engine spreads 32 concurrent questions
// over them, each about its own one-colour image, five rounds, then a
// follow-up in each conversation. Every answer must name the colours the
// same question named alone. (npm run test:reliability does the same through
// the app on the in-process engine and on llama-server.)

const QUESTION = "What color is the shape?";
const FOLLOW_UP = "What shape is it?";
const COLOUR_WORDS = Object.keys(COLOURS);
const coloursIn = (text: string) =>
  COLOUR_WORDS.filter((c) => new RegExp(`\\b${c}\\b`, "i").test(text))
    .sort()
    .join(",");

const shapesIn = (text: string) => SHAPES.filter((s) => text.includes(s)).join();

describe("answers never cross on the remote engine", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-remote-crossing-"));
  const servers: Engine[] = [];
  let fleet: Engine;
  const apiKey = "crossing-key";
  /** 18 images: every colour in every shape. */
  const images: { colour: string; shape: string; file: string }[] = [];

  beforeAll(async () => {
    const { models } = await scanCatalog({ dir: path.resolve(import.meta.dirname, "..", "..", "models", "tiny") });
    const demo = models.find((m) => m.vision)!;
    for (let i = 0; i < 2; i++) servers.push(await loadEngine(demo, "llama-server", { llamaServer: { ...llamaServerBinary(), apiKey }, slots: 4 }));
    const urls = servers.map((s) => s.status().servers![0]!.url);
    fleet = await Engine.load({
      engine: "remote",
      remote: { urls, apiKey },
      gpu: "cpu",
      gpuLayers: 0,
      contextSize: 2048,
      threads: 1,
      slots: 8,
      // All 32 are admitted: 8 written at once, the rest wait their turn.
      queueLimit: 32,
      cacheDir: path.join(dir, "remote"),
    });
    for (const shape of SHAPES) {
      for (const colour of COLOUR_WORDS) {
        const file = path.join(dir, `${colour}-${shape}.png`);
        await sharp(Buffer.from(singleShapeSvg(colour, shape))).png().toFile(file);
        images.push({ colour, shape, file });
      }
    }
  }, 300_000);
  afterAll(async () => {
    await fleet?.dispose();
    for (const s of servers) await s.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const ask = async (messages: EngineMessage[]) => {
    const { text, usage } = await drain(fleet, { messages, maxTokens: 48, sampling: { temperature: 0 } });
    if (usage.finishReason === "error") throw new Error(`the engine failed: ${usage.error}`);
    return text.trim();
  };
  const first = (file: string): EngineMessage[] => [{ role: "user", text: QUESTION, images: [file] }];
  const followUp = (file: string, answer: string): EngineMessage[] => [...first(file), { role: "assistant", text: answer }, { role: "user", text: FOLLOW_UP }];

  it("32 concurrent questions, five rounds and a follow-up each: every answer is its own image's", async () => {
    // Alone, one at a time.
    const alone = new Map<string, { answer: string; colours: string; followUp: string }>();
    for (const img of images) {
      const answer = await ask(first(img.file));
      alone.set(img.file, { answer, colours: coloursIn(answer), followUp: await ask(followUp(img.file, answer)) });
    }
    // The demo model names the colour it sees: the comparison below is about something.
    const right = images.filter((img) => alone.get(img.file)!.colours === img.colour).length;
    expect(right).toBeGreaterThanOrEqual(16);

    const cases = Array.from({ length: 32 }, (_, i) => images[i % images.length]!);
    let crossed = 0;
    const wrong: string[] = [];
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        cases.map(async (img) => {
          const answer = await ask(first(img.file));
          const expected = alone.get(img.file)!;
          if (coloursIn(answer) !== expected.colours) {
            crossed++;
            wrong.push(`round ${round + 1}, the ${img.colour} ${img.shape}: "${answer}" (alone: "${expected.answer}")`);
          }
          if (round < 4) return;
          // The follow-up, with the first answer as it was written alone (the same history every time).
          const next = await ask(followUp(img.file, expected.answer));
          // What it names (colours and shapes): greedy text can differ in a word between batch sizes.
          if (coloursIn(next) !== coloursIn(expected.followUp) || shapesIn(next) !== shapesIn(expected.followUp)) {
            crossed++;
            wrong.push(`follow-up, the ${img.colour} ${img.shape}: "${next}" (alone: "${expected.followUp}")`);
          }
        }),
      );
    }
    expect(wrong).toEqual([]);
    expect(crossed).toBe(0);
    // Both hosts answered.
    expect(fleet.status().servers!.every((s) => s.up)).toBe(true);
  }, 600_000);
});
