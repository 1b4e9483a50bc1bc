import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scanCatalog } from "@/lib/engine/catalog";
import type { Engine } from "@/lib/engine/engine";
import type { EngineMessage } from "@/lib/engine/types";
import { drain, loadEngine, type TestBackend } from "../helpers/engine";
import { singleShapeSvg, svgOf } from "../helpers/shape-scenes";

// What the shipped demo model (models/tiny, trained by models/train) must do
// beyond the canonical questions, through llama.cpp on both backends the app
// runs: several images in one message, images arriving in later turns,
// paraphrased and re-cased questions, and a refusal for what it cannot know.
// The images are drawn as SVG and rasterised by librsvg, a renderer the
// model never saw in training.

const REFUSAL = "I only know simple shapes and colours.";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-demo-model-"));
const image = async (name: string, svg: string) => {
  const file = path.join(dir, `${name}.png`);
  await sharp(Buffer.from(svg)).png().toFile(file);
  return file;
};

describe.each<TestBackend>(["llama-node", "llama-server"])("the shipped demo model on %s", (backend) => {
  let engine: Engine;
  const files: Record<string, string> = {};

  beforeAll(async () => {
    const { models } = await scanCatalog({ dir: path.resolve(import.meta.dirname, "..", "..", "models", "tiny") });
    engine = await loadEngine(models.find((m) => m.vision)!, backend);
    files.redCircle = await image("red-circle", singleShapeSvg("red", "circle"));
    files.blueSquare = await image("blue-square", singleShapeSvg("blue", "square"));
    files.greenTriangle = await image("green-triangle", singleShapeSvg("green", "triangle", 320));
    files.two = await image(
      "two",
      svgOf(
        [
          { shape: "square", colour: "yellow", cx: 70, cy: 128, r: 50 },
          { shape: "circle", colour: "purple", cx: 190, cy: 128, r: 50 },
        ],
        256,
      ),
    );
  }, 180_000);
  afterAll(() => engine?.dispose());

  const ask = async (messages: EngineMessage[]) => {
    const { text, usage } = await drain(engine, { messages, maxTokens: 200, sampling: { temperature: 0 } });
    // A failed generation is a failure of its own, not an answer of "" to compare.
    if (usage.finishReason === "error") throw new Error(`the engine failed: ${usage.error}`);
    return { text: text.trim(), finishReason: usage.finishReason };
  };
  const one = async (question: string, images: string[] = []) => (await ask([{ role: "user", text: question, images }])).text;

  it("answers about several images in one message, naming each by its place", async () => {
    const images = [files.redCircle!, files.two!];
    expect(await one("How many images are there?", images)).toBe("There are 2 images.");
    expect(await one("What color is the square in the second image?", images)).toBe("The square is yellow.");
    expect(await one("How many shapes are in the first image?", images)).toBe("There is 1 shape.");
    expect(await one("Describe the images.", images)).toBe(
      "The first image shows a red circle. The second image shows a yellow square and a purple circle.",
    );
  });

  it("answers about the newest image when a later turn brings one", async () => {
    const { text } = await ask([
      { role: "user", text: "What color is the circle?", images: [files.redCircle!] },
      { role: "assistant", text: "The circle is red." },
      { role: "user", text: "What color is the triangle?", images: [files.greenTriangle!] },
    ]);
    expect(text).toBe("The triangle is green.");
  });

  it("understands paraphrased, re-cased and unpunctuated questions", async () => {
    expect(await one("what's the colour of the square", [files.blueSquare!])).toBe("The square is blue.");
    expect(await one("What shape is it?", [files.blueSquare!])).toBe("It is a square.");
    expect(await one("HOW MANY SHAPES DO YOU SEE?", [files.two!])).toBe("There are 2 shapes.");
    expect(await one("Is there a blue square?", [files.redCircle!])).toBe("No.");
    expect(await one("What color is the triangle?", [files.redCircle!])).toBe("There is no triangle.");
  });

  it("says what it cannot know instead of inventing, and stops by itself", async () => {
    expect(await one("Who is this person?", [files.redCircle!])).toBe(REFUSAL);
    expect(await one("What is the capital of France?")).toBe(REFUSAL);
    const long = "Please read this report about the budget meeting and the garden and the kitchen. ".repeat(8);
    const answer = await ask([{ role: "user", text: long, images: [files.blueSquare!] }]);
    expect(answer).toEqual({ text: REFUSAL, finishReason: "stop" });
  });
});
