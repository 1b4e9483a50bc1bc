// `npm run models:eval:skills`: the chart skill (issue 26) taught as a LoRA
// adapter and by a full fine-tune, evaluated THROUGH THE APP'S ENGINE
// (lib/engine/engine.ts on llama.cpp via @fugood/llama.node, as eval.ts does):
//
// - held-out charts drawn by the app's own renderer (render-charts.ts →
//   lib/media/data.ts) with the text the app sends with a table, asked in the
//   canonical wording, in trained paraphrases and in wordings never trained;
//   the same tables drawn by a second renderer (PIL, skills.py), never used
//   in training;
// - a subset of the old skills (heldout.py's set: one image per kind,
//   several images, refusals), to show what each way of training forgot;
//
// for the shipped pair alone, the shipped pair with the adapter
// (models/tiny/mini-llava-shapes-chart.lora.gguf, named per request as the app
// does: GenerateRequest.adapters), and the fully fine-tuned pair (exported from
// models/train/out-skills/full, when that run is here). Greedy, exact match of
// the whole answer. Last line:
//   ADAPTERS lora_params=… full_params=… lora_minutes=… full_minutes=… lora_new_skills=… full_new_skills=… lora_old_skills=… full_old_skills=…
// (new skills = chart accuracy on the app renderer's held-out charts; the
// other new skills of issue 26 are not trained yet). EVAL_CHARTS (default 48)
// tables, EVAL_OLD_PER_KIND (default 12) old-skill questions per kind.
// EVAL_CHECK=1 also checks that PyTorch (the base GGUF plus the adapter read
// back from its GGUF) answers the adapter's chart items exactly as llama.cpp did.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { scanCatalog, type CatalogModel } from "../../lib/engine/catalog";
import { Engine } from "../../lib/engine/engine";
import { loadEvalEngine } from "./eval-engine";
import { quietNativeOutput } from "./quiet-native";

// llama.cpp prints every prompt to fds 1 and 2 from C: run in a child whose own output goes to
// fds 3 and 4 (scripts/app-output.mjs, as the app and eval.ts do), keeping native warnings only.
await quietNativeOutput();

interface Item {
  group: string;
  kind: string;
  images: string[];
  /** The user message's text (for a chart: the app's table text, then the question). */
  text: string;
  answer: string;
}
type Config = "base" | "lora" | "full";

const here = import.meta.dirname;
const root = path.join(here, "..", "..");
const python = process.env.EVAL_PYTHON ?? "/usr/bin/python3";
const nCharts = Number(process.env.EVAL_CHARTS ?? 48);
const oldPerKind = Number(process.env.EVAL_OLD_PER_KIND ?? 12);
const tinyDir = path.join(here, "..", "tiny");
const adapter = process.env.EVAL_ADAPTER ?? path.join(tinyDir, "mini-llava-shapes-chart.lora.gguf");
const runsDir = path.join(here, "out-skills");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-eval-skills-"));
const started = Date.now();
const childEnv = { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1" };

function run(cmd: string, args: string[], what: string, env: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, { stdio: ["ignore", 3, 4], env: { ...childEnv, ...env }, cwd: root });
  if (r.error || r.status !== 0) {
    console.error(r.error ? `${cmd}: ${r.error.message} (Debian's python3-torch, python3-pil and python3-numpy are needed)` : `${what} failed`);
    process.exit(r.status || 1);
  }
}
const py = (...args: string[]) => run(python, args, args.slice(0, 2).join(" "));
const tsx = (...args: string[]) => run(process.execPath, ["--import", "tsx", ...args], args[0]!);

if (!fs.existsSync(adapter)) throw new Error(`no adapter at ${adapter} (npm run models:train:skills writes it)`);

// 1. Held-out charts: tables from a seed never trained on, drawn by the app's renderer, then by the second one.
const chartsDir = path.join(dir, "charts");
console.log(`Held-out charts (${nCharts} tables, both renderers) and old-skill questions in ${dir} …`);
py(path.join(here, "skills.py"), "eval-tables", chartsDir, "--n", String(nCharts));
tsx(path.join(here, "render-charts.ts"), path.join(chartsDir, "tables.jsonl"), chartsDir);
py(path.join(here, "skills.py"), "eval-items", chartsDir);
const chartItems: Item[] = (JSON.parse(fs.readFileSync(path.join(chartsDir, "chart-items.json"), "utf8")) as { group: string; kind: string; file: string; text: string; answer: string }[]).map(
  (c) => ({ group: c.group, kind: c.kind, images: [path.join(chartsDir, c.file)], text: c.text, answer: c.answer }),
);

// 2. The old skills: heldout.py's set (the training renderer), one image per kind, several images, refusals.
const oldDir = path.join(dir, "old");
py(path.join(here, "heldout.py"), "make", oldDir, "--per-kind", String(oldPerKind), "--seed", "4242");
const oldItems: Item[] = (JSON.parse(fs.readFileSync(path.join(oldDir, "manifest.json"), "utf8")) as { group: string; kind: string; files: string[]; question: string; answer: string }[])
  .filter((i) => i.group === "base" || i.group === "multi" || i.group === "refusal")
  .map((i) => ({ group: `old_${i.group}`, kind: i.kind, images: i.files.map((f) => path.join(oldDir, f)), text: i.question, answer: i.answer }));

// 3. The fully fine-tuned pair, exported from its run (when it is here).
let fullModel: CatalogModel | undefined;
const fullRun = path.join(runsDir, "full");
if (fs.existsSync(path.join(fullRun, "weights.bin"))) {
  const fullDir = path.join(dir, "full-pair");
  run(process.execPath, ["--import", "tsx", path.join(here, "export.ts"), fullDir], "export.ts (full fine-tune)", { TRAIN_OUT: fullRun });
  fullModel = (await scanCatalog({ dir: fullDir })).models.find((m) => m.vision);
} else {
  console.log(`(no full fine-tune in ${fullRun}: its columns use the figures recorded in skills-runs.json only)`);
}

const { models } = await scanCatalog({ dir: tinyDir });
const baseModel = models.find((m) => m.vision && !m.path.endsWith(".lora.gguf"));
if (!baseModel?.vision) throw new Error(`no vision model in ${tinyDir}`);

type Answers = Map<Item, string>;
type Request = Parameters<Engine["generate"]>[0];
interface Run {
  answers: Answers;
  seconds: number;
  /** How the adapter was applied. */
  how?: string;
}

/** The adapter, per request by name, as the app asks for it (the catalog pairs it with the base by fingerprint). */
function adapterFor(engine: Engine): { extra: Partial<Request>; how: string } {
  const mine = engine.adapters().find((a) => path.resolve(a.path) === path.resolve(adapter));
  if (!mine) throw new Error(`the catalog lists no adapter ${adapter} for ${engine.model.name}: it must lie beside the model`);
  if (mine.refused) throw new Error(`the engine refused the adapter: ${mine.refused}`);
  return { extra: { adapters: [{ name: mine.name, scale: 1 }] }, how: `per request (adapters: [{ name: "${mine.name}", scale: 1 }])` };
}

async function ask(model: CatalogModel, items: Item[], withAdapter = false): Promise<Run> {
  const engine = await loadEvalEngine(model, { questions: items.length, cacheDir: path.join(dir, "cache", path.basename(model.path)) });
  const { extra, how } = withAdapter ? adapterFor(engine) : { extra: {}, how: undefined };
  const answers: Answers = new Map();
  const t0 = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      let text = "";
      for await (const ev of engine.generate({
        messages: [{ role: "user", text: item.text, images: item.images }],
        maxTokens: 160,
        sampling: { temperature: 0 },
        ...extra,
      })) {
        if (ev.type === "delta") text += ev.text;
      }
      answers.set(item, text.trim());
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  await engine.dispose();
  return { answers, seconds: (Date.now() - t0) / 1000, how };
}

const canonicalCharts = chartItems.filter((i) => i.group === "chart");
const results: Partial<Record<Config, Run & { items: Item[] }>> = {};
console.log(`Asking the shipped pair alone (${oldItems.length + canonicalCharts.length} questions) …`);
results.base = { items: [...oldItems, ...canonicalCharts], ...(await ask(baseModel, [...oldItems, ...canonicalCharts])) };
console.log(`Asking the shipped pair with the adapter ${path.basename(adapter)} (${oldItems.length + chartItems.length} questions) …`);
results.lora = { items: [...oldItems, ...chartItems], ...(await ask(baseModel, [...oldItems, ...chartItems], true)) };
console.log(`(the adapter was applied ${results.lora.how})`);
if (fullModel) {
  console.log(`Asking the fully fine-tuned pair (${oldItems.length + chartItems.length} questions) …`);
  results.full = { items: [...oldItems, ...chartItems], ...(await ask(fullModel, [...oldItems, ...chartItems])) };
}

const f3 = (x: number) => (Number.isNaN(x) ? "  -  " : x.toFixed(3));
function acc(config: Config, pick: (i: Item) => boolean): number {
  const r = results[config];
  if (!r) return NaN;
  const xs = r.items.filter(pick);
  return xs.length ? xs.filter((i) => r.answers.get(i) === i.answer).length / xs.length : NaN;
}
const isOld = (i: Item) => i.group.startsWith("old_");
const columns: [string, (i: Item) => boolean][] = [
  ["chart", (i) => i.group === "chart"],
  ["renderer 2", (i) => i.group === "chart_r2"],
  ["paraphrased", (i) => i.group === "chart_para"],
  ["unseen wording", (i) => i.group === "chart_unseen"],
  ...["tallest", "n_bars", "value", "trend"].map((k): [string, (i: Item) => boolean] => [k, (i) => i.group === "chart" && i.kind === k]),
  ["old: 1 image", (i) => i.group === "old_base"],
  ["old: several", (i) => i.group === "old_multi"],
  ["old: refusal", (i) => i.group === "old_refusal"],
  ["old: all", isOld],
];
const label: Record<Config, string> = { base: "shipped pair alone", lora: "pair + chart LoRA", full: "full fine-tune" };
console.log(`\n${"".padEnd(20)}${columns.map(([c]) => c.padStart(15)).join("")}`);
for (const c of ["base", "lora", "full"] as Config[]) {
  if (!results[c]) continue;
  console.log(`${label[c].padEnd(20)}${columns.map(([, pick]) => f3(acc(c, pick)).padStart(15)).join("")}`);
}
console.log(`questions per column (adapter row): ${columns.map(([n, pick]) => `${n} ${results.lora!.items.filter(pick).length}`).join(", ")}`);
for (const c of ["base", "lora", "full"] as Config[]) if (results[c]) console.log(`${label[c]}: ${results[c]!.answers.size} answers through llama.cpp in ${results[c]!.seconds.toFixed(0)} s`);
const differs = canonicalCharts.filter((i) => results.base!.answers.get(i) !== results.lora!.answers.get(i)).length;
console.log(`chart answers that differ without the adapter: ${differs} of ${canonicalCharts.length}`);
for (const c of ["lora", "full"] as Config[]) {
  const r = results[c];
  if (!r) continue;
  const wrong = r.items.filter((i) => r.answers.get(i) !== i.answer && !isOld(i));
  if (!wrong.length) continue;
  console.log(`\nsome chart misses (${label[c]}):`);
  for (const w of wrong.filter((_, n) => n % Math.max(1, Math.floor(wrong.length / 8)) === 0).slice(0, 8)) {
    console.log(`  [${w.group}/${w.kind}] "${w.text.split("\n").at(-1)}" expected "${w.answer}" got "${r.answers.get(w)}"`);
  }
}

// Optional: PyTorch (base GGUF + the adapter read back from its GGUF) against llama.cpp on the adapter's chart answers.
let agreement = "";
if (process.env.EVAL_CHECK === "1") {
  const checked = canonicalCharts.slice(0, 48);
  fs.writeFileSync(
    path.join(dir, "answers.json"),
    JSON.stringify(checked.map((i) => ({ check: true, images: i.images, text: i.text, engine: results.lora!.answers.get(i) }))),
  );
  py(path.join(here, "skills.py"), "check", dir, "--lora-gguf", adapter);
  const back = JSON.parse(fs.readFileSync(path.join(dir, "answers.json"), "utf8")) as { engine: string; pytorch: string }[];
  const same = back.filter((b) => b.engine === b.pytorch.trim()).length;
  agreement = `PyTorch (base GGUF + the adapter read back from its GGUF) answers as llama.cpp did on ${same} of ${back.length} chart questions: agreement=${f3(same / back.length)}`;
}

// Training figures: this machine's runs (out-skills/*/result.json), else the ones recorded for the shipped adapter.
interface TrainingRun {
  trainable_params: number;
  train_seconds: number;
}
const recorded = JSON.parse(fs.readFileSync(path.join(here, "skills-runs.json"), "utf8")) as Record<"lora" | "full", TrainingRun>;
const runOf = (m: "lora" | "full"): TrainingRun => {
  const f = path.join(runsDir, m, "result.json");
  return fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, "utf8")) as TrainingRun) : recorded[m];
};
const lora = runOf("lora");
const full = runOf("full");
const chart = (c: Config) => acc(c, (i) => i.group === "chart");
const old = (c: Config) => acc(c, isOld);
console.log(`\n${((Date.now() - started) / 1000).toFixed(0)} s in all; files in ${dir}`);
if (agreement) console.log(agreement);
console.log(`ACCURACY_BASE chart=${f3(chart("base"))} old_skills=${f3(old("base"))}`);
console.log(
  `ADAPTERS lora_params=${lora.trainable_params} full_params=${full.trainable_params} lora_minutes=${(lora.train_seconds / 60).toFixed(1)} full_minutes=${(full.train_seconds / 60).toFixed(1)} ` +
    `lora_new_skills=${f3(chart("lora"))} full_new_skills=${f3(chart("full"))} lora_old_skills=${f3(old("lora"))} full_old_skills=${f3(old("full"))}`,
);
