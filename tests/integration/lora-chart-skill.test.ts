import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scanCatalog, type CatalogModel } from "@/lib/engine/catalog";
import type { Engine } from "@/lib/engine/engine";
import { readData } from "@/lib/media/data";
import { mediaPromptParts } from "@/lib/media/prompt-parts";
import { drain, loadEngine, type TestBackend } from "../helpers/engine";
import { DEMO_DIR } from "../helpers/lora";

// The shipped chart adapter (models/tiny/mini-llava-shapes-chart.lora.gguf,
// trained by models/train on the frozen demo pair) on both local engines:
// charts drawn by the app's own data reader from CSVs made here, sent with
// the text the app sends with a table, as the chat does. With the adapter the
// demo model answers them; without it, it does not.

const ADAPTER = "mini-llava-shapes-chart";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-chart-skill-"));
const limits = { maxSeconds: 600, maxFrames: 16, maxPages: 20, maxRows: 100_000, maxColumns: 100, maxPixels: 80_000_000 };

/** A CSV charted by the app's data reader, fitted as an upload's derived image is, and the text the prompt carries with it. */
async function chart(name: string, csv: string): Promise<{ image: string; text: string }> {
  const input = path.join(dir, `${name}.csv`);
  fs.writeFileSync(input, csv);
  const out = fs.mkdtempSync(path.join(dir, `${name}-`));
  const { info, images } = await readData({ kind: "data", format: "csv", input, outDir: out, limits, ffmpeg: "" });
  const image = path.join(dir, `${name}.png`);
  await sharp(path.join(out, images[0]!.file)).resize({ width: 2048, height: 2048, fit: "inside", withoutEnlargement: true }).flatten({ background: "#ffffff" }).png().toFile(image);
  const { text } = mediaPromptParts({ mediaType: "text/csv", info, derived: [{ storageKey: image, label: images[0]!.label, page: null }], maxPages: 4 }, "");
  return { image, text };
}

const cases: { csv: [string, string]; question: string; answer: string }[] = [
  { csv: ["shapes", "shape,count\ncircle,3\nsquare,8\ntriangle,5\n"], question: "Which bar is tallest?", answer: "The tallest bar is square." },
  { csv: ["colours", "colour,count\nred,2\nblue,6\ngreen,4\nyellow,1\n"], question: "How many bars?", answer: "There are 4 bars." },
  { csv: ["days", "day,count\n2024-03-01,3\n2024-03-02,5\n2024-03-03,8\n2024-03-04,10\n2024-03-05,13\n2024-03-06,16\n"], question: "Is the line going up?", answer: "Yes, the line goes up." },
];

let model: CatalogModel;
const asked: { image: string; text: string; answer: string }[] = [];

beforeAll(async () => {
  model = (await scanCatalog({ dir: DEMO_DIR })).models.find((m) => m.vision)!;
  for (const c of cases) {
    const { image, text } = await chart(c.csv[0], c.csv[1]);
    asked.push({ image, text: `${text}\n${c.question}`, answer: c.answer });
  }
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

it("the catalog pairs the shipped chart adapter with the demo model", () => {
  const adapter = model.adapters?.find((a) => a.name === ADAPTER);
  expect(adapter).toMatchObject({ kinds: ["chart"] });
  expect(adapter!.refused).toBeUndefined();
});

describe.each<TestBackend>(["llama-node", "llama-server"])("the chart adapter on %s", (backend) => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await loadEngine(model, backend);
  }, 180_000);
  afterAll(() => engine?.dispose());

  it("answers chart questions right with the adapter, and differently without it", async () => {
    for (const q of asked) {
      const ask = async (adapters?: { name: string }[]) => {
        const { text, usage } = await drain(engine, { messages: [{ role: "user", text: q.text, images: [q.image] }], maxTokens: 40, sampling: { temperature: 0 }, adapters });
        if (usage.finishReason === "error") throw new Error(`the engine failed: ${usage.error}`);
        return text.trim();
      };
      expect(await ask([{ name: ADAPTER }])).toBe(q.answer);
      expect(await ask()).not.toBe(q.answer);
    }
  });
});
