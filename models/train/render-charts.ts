// Draws chart images exactly as the app does: each table (a line of
// TABLES.jsonl, written by skills.py from world.random_chart_table) is written
// as the CSV a user would upload and read by the app's own data reader
// (lib/media/data.ts: readData → Vega-Lite → SVG → sharp PNG, the same call
// the upload's decoding process makes), then fitted like every derived image
// (lib/storage/normalize-image.ts: longest side ≤ UPLOAD_MAX_SIDE's default,
// flattened on white). Writes OUT_DIR/chart-NNNNN.png and OUT_DIR/charts.jsonl:
// per table, its file and the summary the prompt carries (mediaPromptParts).
//
//   tsx models/train/render-charts.ts TABLES.jsonl OUT_DIR [LIST_NAME (default charts.jsonl)]
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { readData } from "../../lib/media/data";
import type { DecodeJob } from "../../lib/media/types";

const [tablesFile, outDir, listName = "charts.jsonl"] = process.argv.slice(2);
if (!tablesFile || !outDir) throw new Error("usage: render-charts.ts TABLES.jsonl OUT_DIR");
fs.mkdirSync(outDir, { recursive: true });
const work = fs.mkdtempSync(path.join(os.tmpdir(), "charts-"));
/** lib/env-schema.ts defaults (UPLOAD_MAX_SIDE, DATA_MAX_ROWS, DATA_MAX_COLUMNS, UPLOAD_MAX_PIXELS). */
const MAX_SIDE = 2048;
const limits = { maxSeconds: 600, maxFrames: 16, maxPages: 20, maxRows: 100_000, maxColumns: 100, maxPixels: 80_000_000 };

interface Table {
  id: number;
  mark: "bar" | "line";
  x: string;
  y: string;
  rows: [string, number][];
}

const tables = fs.readFileSync(tablesFile, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Table);
const out = fs.openSync(path.join(outDir, listName), "w");
const started = Date.now();
for (const [i, t] of tables.entries()) {
  const input = path.join(work, "table.csv");
  fs.writeFileSync(input, [`${t.x},${t.y}`, ...t.rows.map(([a, b]) => `${a},${b}`)].join("\n") + "\n");
  const job: DecodeJob = { kind: "data", format: "csv", input, outDir: work, limits, ffmpeg: "" };
  const { info, images } = await readData(job);
  if (info.kind !== "data" || !info.chart || images.length !== 1) throw new Error(`table ${t.id}: no chart`);
  if (info.chart.mark !== t.mark) throw new Error(`table ${t.id}: the app drew a ${info.chart.mark} chart, not a ${t.mark} chart`);
  const file = `chart-${String(t.id).padStart(5, "0")}.png`;
  // As normalizeImage does for a PNG: longest side ≤ MAX_SIDE, flattened on white, PNG.
  await sharp(path.join(work, images[0]!.file))
    .resize({ width: MAX_SIDE, height: MAX_SIDE, fit: "inside", withoutEnlargement: true })
    .flatten({ background: "#ffffff" })
    .png({ compressionLevel: 6 })
    .toFile(path.join(outDir, file));
  fs.writeSync(out, JSON.stringify({ ...t, file, summary: info.summary, chart: info.chart }) + "\n");
  if ((i + 1) % 200 === 0) console.log(`${i + 1}/${tables.length} charts in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}
fs.closeSync(out);
fs.rmSync(work, { recursive: true, force: true });
console.log(`${tables.length} charts in ${((Date.now() - started) / 1000).toFixed(0)} s → ${outDir}`);
