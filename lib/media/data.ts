import fs from "node:fs/promises";
import path from "node:path";
import { unzipSync } from "fflate";
import Papa from "papaparse";
import { readSheet } from "read-excel-file/node";
import sharp from "sharp";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { MediaRefusal, type DataFormat, type DecodeJob, type DerivedImage, type MediaInfo, type ReportProgress, type TableColumn } from "./types";

/** Rows kept for the scrollable table in the chat. */
export const TABLE_ROWS_KEPT = 200;
/** Rows shown to the model in the summary. */
const SUMMARY_ROWS = 5;
/** Rows plotted (a chart of more is no clearer). */
const CHART_ROWS = 5_000;
/** Categories in a bar chart (the largest ones). */
const BAR_CATEGORIES = 25;

type Row = Record<string, string>;

/**
 * A table (CSV, TSV, a JSON array of records) → a compact summary (columns
 * with their types, the row count, the first rows) and a chart picked from
 * the column types: a line for a date and a number, a scatter for two
 * numbers, a bar for a category and a number. Rendered with Vega-Lite to
 * SVG, then PNG. Refused past the row and column caps.
 */
export async function readData(job: DecodeJob, report: ReportProgress = () => {}): Promise<{ info: MediaInfo; images: DerivedImage[] }> {
  const text = job.format === "xlsx" ? "" : (await fs.readFile(job.input, "utf8")).replace(/^\uFEFF/, "");
  const { columns: names, rows } = job.format === "xlsx" ? await parseXlsx(job) : job.format === "json" ? parseJson(text, job) : parseDelimited(text, job);
  if (!names.length || !rows.length) throw new MediaRefusal("bad_request:upload", "The table has no rows.");
  // Progress: parsed is 40 %, typed 60 %, the chart drawn 100 %.
  report(0.4);
  const columns: TableColumn[] = names.map((name) => ({ name, type: columnType(rows.map((r) => r[name] ?? "")) }));
  report(0.6);
  const chart = pickChart(columns);
  const images: DerivedImage[] = [];
  if (chart) {
    const file = "chart.png";
    await renderChart(chart, rows.slice(0, CHART_ROWS), columns, path.join(job.outDir, file));
    images.push({ file, label: "Chart" });
  }
  report(1);
  const summary = summarize(job.format, rows, columns, chart);
  return {
    info: {
      kind: "data",
      format: job.format as DataFormat,
      rowCount: rows.length,
      columns,
      rows: rows.slice(0, TABLE_ROWS_KEPT).map((r) => names.map((n) => clip(r[n] ?? "", 200))),
      chart,
      summary,
    },
    images,
  };
}

function parseDelimited(text: string, job: DecodeJob): { columns: string[]; rows: Row[] } {
  // One row past the cap is enough to know the cap is passed.
  const result = Papa.parse<Row>(text, {
    header: true,
    skipEmptyLines: "greedy",
    delimiter: job.format === "tsv" ? "\t" : "",
    preview: job.limits.maxRows + 1,
    transformHeader: (h, i) => h.trim() || `column ${i + 1}`,
  });
  const fields = result.meta.fields ?? [];
  checkShape(fields.length, result.data.length, job);
  const fatal = result.errors.find((e) => e.type === "Quotes");
  if (fatal) throw new MediaRefusal("bad_request:upload", `The ${job.format.toUpperCase()} file is damaged: ${fatal.message} (row ${(fatal.row ?? 0) + 2}).`);
  return { columns: fields, rows: result.data };
}

function parseJson(text: string, job: DecodeJob): { columns: string[]; rows: Row[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new MediaRefusal("bad_request:upload", `The JSON file is damaged: ${(err as Error).message}.`);
  }
  if (!Array.isArray(value) || !value.every((r) => r && typeof r === "object" && !Array.isArray(r))) {
    throw new MediaRefusal("bad_request:upload", "The JSON file must be an array of records (objects), one per row.");
  }
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const r of value as Record<string, unknown>[]) {
    for (const k of Object.keys(r)) {
      if (seen.has(k)) continue;
      seen.add(k);
      columns.push(k);
      if (columns.length > job.limits.maxColumns) checkShape(columns.length, value.length, job);
    }
  }
  checkShape(columns.length, value.length, job);
  const rows = (value as Record<string, unknown>[]).map((r) =>
    Object.fromEntries(columns.map((c) => [c, r[c] === null || r[c] === undefined ? "" : typeof r[c] === "object" ? JSON.stringify(r[c]) : String(r[c])])),
  );
  return { columns, rows };
}

/** Bytes an XLSX may unpack to (its XML), and how much larger than the file it may get. */
export const XLSX_MAX_UNZIPPED = 64 * 1024 * 1024;
const XLSX_MAX_RATIO = 200;

/**
 * The first sheet of a workbook (read-excel-file), after a decompression-bomb
 * check on the zip's own directory: the sizes its entries declare, summed,
 * before anything is inflated (fflate's filter sees each entry's header and
 * inflates none). A file that lies about its sizes is still bounded by the
 * decoding process's memory cap and timeout.
 */
async function parseXlsx(job: DecodeJob): Promise<{ columns: string[]; rows: Row[] }> {
  const bytes = new Uint8Array(await fs.readFile(job.input));
  let unzipped = 0;
  let entries = 0;
  try {
    unzipSync(bytes, {
      filter: (file) => {
        entries++;
        unzipped += file.originalSize;
        return false;
      },
    });
  } catch {
    throw new MediaRefusal("bad_request:upload", "The XLSX file is damaged (not a readable zip).");
  }
  if (unzipped > XLSX_MAX_UNZIPPED || unzipped > XLSX_MAX_RATIO * Math.max(bytes.length, 64 * 1024)) {
    throw new MediaRefusal(
      "payload_too_large:upload",
      `The workbook unpacks to ${(unzipped / 1024 / 1024).toFixed(0)} MiB from ${(bytes.length / 1024).toFixed(0)} KiB (a decompression bomb?); the limit is ${XLSX_MAX_UNZIPPED / 1024 / 1024} MiB unpacked.`,
    );
  }
  if (!entries) throw new MediaRefusal("bad_request:upload", "The XLSX file is empty.");
  let sheet: unknown[][];
  try {
    sheet = (await readSheet(Buffer.from(bytes))) as unknown[][];
  } catch (err) {
    throw new MediaRefusal("bad_request:upload", `The XLSX file is damaged: ${(err as Error).message.slice(0, 200)}.`);
  }
  const [header = [], ...body] = sheet;
  checkShape(header.length, body.length, job);
  const cell = (v: unknown) => (v === null || v === undefined ? "" : v instanceof Date ? v.toISOString().replace(/T00:00:00\.000Z$/, "") : String(v));
  const columns = header.map((h, i) => cell(h).trim() || `column ${i + 1}`);
  return { columns, rows: body.map((r) => Object.fromEntries(columns.map((c, i) => [c, cell(r[i])]))) };
}

function checkShape(columns: number, rows: number, job: DecodeJob): void {
  if (columns > job.limits.maxColumns) {
    throw new MediaRefusal("payload_too_large:upload", `The table has more than ${job.limits.maxColumns} columns; the limit is ${job.limits.maxColumns} columns.`);
  }
  if (rows > job.limits.maxRows) {
    throw new MediaRefusal("payload_too_large:upload", `The table has more than ${job.limits.maxRows} rows; the limit is ${job.limits.maxRows} rows.`);
  }
}

const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;
const DATE = /^\d{4}-\d{2}(-\d{2})?([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[-+]\d{2}:?\d{2})?)?$/;

/** A column's type from its non-empty values: all numbers, all ISO dates, or text. */
export function columnType(values: string[]): TableColumn["type"] {
  const filled = values.map((v) => v.trim()).filter(Boolean);
  if (!filled.length) return "text";
  if (filled.every((v) => NUMBER.test(v))) return "number";
  if (filled.every((v) => DATE.test(v) && !Number.isNaN(Date.parse(v)))) return "date";
  return "text";
}

export function pickChart(columns: TableColumn[]): NonNullable<Extract<MediaInfo, { kind: "data" }>["chart"]> | null {
  const num = columns.filter((c) => c.type === "number");
  const date = columns.find((c) => c.type === "date");
  const text = columns.find((c) => c.type === "text");
  if (date && num[0]) return { mark: "line", x: date.name, y: num[0].name, title: `${num[0].name} over ${date.name}` };
  if (text && num[0]) return { mark: "bar", x: text.name, y: num[0].name, title: `${num[0].name} by ${text.name}` };
  if (num.length >= 2) return { mark: "scatter", x: num[0]!.name, y: num[1]!.name, title: `${num[1]!.name} against ${num[0]!.name}` };
  if (text) return { mark: "bar", x: text.name, y: "count", title: `rows by ${text.name}` };
  return null;
}

async function renderChart(chart: NonNullable<ReturnType<typeof pickChart>>, rows: Row[], columns: TableColumn[], out: string): Promise<void> {
  const typeOf = (name: string) => columns.find((c) => c.name === name)?.type;
  const values = rows.map((r) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeOf(k) === "number" ? (v.trim() === "" ? null : Number(v)) : v])),
  );
  const field = (name: string) => ({ field: name, title: name });
  let spec: TopLevelSpec;
  if (chart.mark === "line") {
    spec = { data: { values }, mark: { type: "line", point: values.length <= 60 }, encoding: { x: { ...field(chart.x), type: "temporal" }, y: { ...field(chart.y), type: "quantitative" } } } as TopLevelSpec;
  } else if (chart.mark === "scatter") {
    spec = { data: { values }, mark: "point", encoding: { x: { ...field(chart.x), type: "quantitative" }, y: { ...field(chart.y), type: "quantitative" } } } as TopLevelSpec;
  } else {
    const y = chart.y === "count" ? { aggregate: "count", title: "rows" } : { ...field(chart.y), aggregate: "sum", type: "quantitative" };
    spec = {
      data: { values },
      transform: [
        { aggregate: [chart.y === "count" ? { op: "count", as: "__v" } : { op: "sum", field: chart.y, as: "__v" }], groupby: [chart.x] },
        { window: [{ op: "rank", as: "__rank" }], sort: [{ field: "__v", order: "descending" }] },
        { filter: `datum.__rank <= ${BAR_CATEGORIES}` },
      ],
      mark: "bar",
      encoding: { x: { ...field(chart.x), type: "nominal", sort: "-y" }, y: { field: "__v", type: "quantitative", title: y.title ?? chart.y } },
    } as TopLevelSpec;
  }
  const full = { ...spec, $schema: "https://vega.github.io/schema/vega-lite/v6.json", width: 480, height: 280, title: chart.title, background: "white", config: { font: "DejaVu Sans" } } as TopLevelSpec;
  // No loader: the data is inline, and nothing may be fetched while rendering.
  const view = new vega.View(vega.parse(compile(full).spec), { renderer: "none", loader: vega.loader({ mode: "file", baseURL: "/nonexistent" }) });
  const svg = await view.toSVG();
  view.finalize();
  await sharp(Buffer.from(svg), { density: 144 }).png().toFile(out);
}

function summarize(format: string, rows: Row[], columns: TableColumn[], chart: ReturnType<typeof pickChart>): string {
  const head = rows.slice(0, SUMMARY_ROWS).map((r) => columns.map((c) => clip(r[c.name] ?? "", 40)).join(" | "));
  return [
    `Table (${format.toUpperCase()}): ${rows.length} rows × ${columns.length} columns.`,
    `Columns: ${columns.map((c) => `${c.name} (${c.type})`).join(", ")}.`,
    `First rows:`,
    columns.map((c) => c.name).join(" | "),
    ...head,
    ...(chart ? [`Chart: ${chart.mark} chart of ${chart.title}.`] : []),
  ].join("\n");
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
