// npm run bench:engine — the engine against llama.cpp's own server, in one
// run, on the realistic-size random pair (~0.5 B-parameter llama, Q8_0 +
// ViT-B/16 224 px mmproj; random weights run at the speed of trained ones):
//   1. llama-server — bare: the binary `npm run engine:build` made, driven
//      over HTTP (/completion, cache_prompt, a fixed slot per conversation)
//   2. engine (server) — lib/engine as the app uses it with ENGINE=llama-server
//      (the same binary, supervised; prompt rendering, slot pool, slot
//      affinity, saved conversation states)
//   3. engine (in-process) — lib/engine on @fugood/llama.node, the
//      zero-setup default
// Same model files, threads, context and slots for all three. Medians of
// BENCH_REPS runs (default 3), interleaved per repetition. The last line is
// the RATIOS summary. Builds llama-server first if needed.
//
// When both server systems run, the bare one is driven on the engine's own
// llama-server process (BENCH_SHARED_SERVER=0: a second process, as before):
// the pair then differs by the hop alone (SSE parsing, the backend and the
// engine's generators), not by which of two processes the machine's other
// load happened to slow down (bench/hop.ts measured the hop at < 1 %).
//
// BENCH_BASELINE_SERVER=<llama-server binary> adds "baseline-server": that
// binary, bare, same settings (e.g. the full-source build against the linked
// one), and its ratios to the bare llama-server in the RATIOS line.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { scanCatalog } from "../lib/engine/catalog";
import { Engine } from "../lib/engine/engine";
import { builtServerPath, readBuildInfo } from "../lib/engine/llama-server/binary";
import { LlamaServerProcess } from "../lib/engine/llama-server/supervisor";
import { readSseJson } from "../lib/engine/sse";
import type { EngineMessage } from "../lib/engine/types";
import { ensureRandomPair } from "../lib/gguf/random-pair";

const root = path.resolve(import.meta.dirname, "..");
process.chdir(root);
const THREADS = Number(process.env.BENCH_THREADS ?? Math.max(1, os.availableParallelism() - 1));
const CTX = Number(process.env.BENCH_CTX ?? 2048);
const SLOTS = 4;
const REPS = Number(process.env.BENCH_REPS ?? 3);
const DECODE_TOKENS = Number(process.env.BENCH_DECODE_TOKENS ?? 32);
const GPU_LAYERS = Number(process.env.BENCH_GPU_LAYERS ?? 0);
/** Which systems to run (comma-separated); default all three. */
const BASELINE = process.env.BENCH_BASELINE_SERVER;
const ONLY = [...(process.env.BENCH_SYSTEMS ?? "llama-server,engine-server,engine-inprocess").split(","), ...(BASELINE ? ["baseline-server"] : [])];
const SHARED = process.env.BENCH_SHARED_SERVER !== "0";
const IMAGE = path.join(root, "tests", "fixtures", "red-circle.png");

interface RunResult {
  ttftMs: number;
  tokens: number;
  /** Generated tokens per second after the first. */
  decodeTps: number;
  wallMs: number;
  reused: number;
  promptTokens: number;
  text: string;
}

interface System {
  name: string;
  run(opts: { messages: EngineMessage[]; maxTokens: number; session?: string; fresh?: boolean }): Promise<RunResult>;
  close(): Promise<void>;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const LONG_TEXT =
  "You are a careful assistant that answers questions about pictures, diagrams and photographs. " +
  "Describe what you see precisely, mention colours, shapes, positions and counts, and say when you are unsure. " +
  "Keep answers short unless the user asks for detail, and never invent objects that are not in the image. ";
const textPrompt = (i: number): EngineMessage[] => [{ role: "user", text: `${LONG_TEXT} Question ${i}: what can you do for me?` }];
const imagePrompt = (i: number): EngineMessage[] => [{ role: "user", text: `Question ${i}: what is in this picture?`, images: [IMAGE] }];

function log(msg: string) {
  process.stderr.write(`${msg}\n`);
}

// ---------------------------------------------------------------------------
// 1. Our engine (either kind)

async function engineSystem(name: string, engine: Engine): Promise<System> {
  return {
    name,
    async run({ messages, maxTokens, session, fresh }) {
      const started = performance.now();
      let first = 0;
      let text = "";
      let usage;
      for await (const ev of engine.generate({ messages, maxTokens, sampling: { temperature: 0 }, sessionKey: fresh ? undefined : session })) {
        if (ev.type === "delta") {
          if (!first) first = performance.now();
          text += ev.text;
        } else usage = ev.usage;
      }
      const end = performance.now();
      return {
        ttftMs: first - started,
        tokens: usage!.completionTokens,
        decodeTps: usage!.tokensPerSecond,
        wallMs: end - started,
        reused: usage!.reusedPromptTokens,
        promptTokens: usage!.promptTokens,
        text,
      };
    },
    close: () => engine.dispose(),
  };
}

// ---------------------------------------------------------------------------
// 2. Bare llama-server from the same build, driven directly over HTTP

type ServerHandle = { url: string; headers: (extra?: Record<string, string>) => Record<string, string>; stop?: () => Promise<void> };

async function serverSystem(engine: Engine, llm: string, mmproj: string, opts: { name?: string; binary?: string; shared?: ServerHandle } = {}): Promise<System> {
  const proc: ServerHandle = opts.shared ?? await LlamaServerProcess.start({
    binary: opts.binary ?? builtServerPath(),
    modelPath: llm,
    mmprojPath: mmproj,
    contextSize: CTX,
    slots: SLOTS,
    threads: THREADS,
    gpuLayers: GPU_LAYERS,
    slotSaveDir: fs.mkdtempSync(path.join(os.tmpdir(), "lvc-bench-slots-")),
    pidFile: path.join(os.tmpdir(), `lvc-bench-${process.pid}.pid`),
  });
  const slotOf = new Map<string, number>();
  const image64 = fs.readFileSync(IMAGE).toString("base64");
  return {
    name: opts.name ?? "llama-server",
    async run({ messages, maxTokens, session }) {
      const { prompt, images } = engine.render(messages);
      if (session && !slotOf.has(session)) slotOf.set(session, slotOf.size % SLOTS);
      const started = performance.now();
      const res = await fetch(`${proc.url}/completion`, {
        method: "POST",
        headers: proc.headers({ "content-type": "application/json" }),
        body: JSON.stringify({
          prompt: images.length ? { prompt_string: prompt, multimodal_data: images.map(() => image64) } : prompt,
          n_predict: maxTokens,
          temperature: 0,
          repeat_penalty: 1,
          dry_multiplier: 0,
          stream: true,
          cache_prompt: Boolean(session),
          id_slot: session ? slotOf.get(session) : -1,
        }),
      });
      let first = 0;
      let tokens = 0;
      let text = "";
      let timings = { cache_n: 0, prompt_n: 0 };
      for await (const ev of readSseJson<{ content?: string; stop?: boolean; timings?: typeof timings }>(res.body!)) {
        if (ev.content) {
          if (!first) first = performance.now();
          tokens++;
          text += ev.content;
        }
        if (ev.stop && ev.timings) timings = ev.timings;
      }
      const end = performance.now();
      return {
        ttftMs: first - started,
        tokens,
        decodeTps: tokens > 1 ? ((tokens - 1) * 1000) / (end - first) : 0,
        wallMs: end - started,
        reused: timings.cache_n ?? 0,
        promptTokens: (timings.cache_n ?? 0) + timings.prompt_n,
        text,
      };
    },
    close: async () => {
      if (!opts.shared) await proc.stop?.();
    },
  };
}

// ---------------------------------------------------------------------------

interface Figures {
  ttftText: number;
  ttftImage: number;
  decodeTps: number;
  followupTtft: number;
  followupReuse: number;
  agg1: number;
  agg4: number;
}

async function measure(sys: System, rep: number): Promise<Figures> {
  const tag = `${sys.name}-${rep}-${Date.now()}`;
  const text = await sys.run({ messages: textPrompt(rep * 100 + 1), maxTokens: DECODE_TOKENS, fresh: true });
  const image = await sys.run({ messages: imagePrompt(rep * 100 + 2), maxTokens: 8, fresh: true });
  // Follow-up: turn 1 with an image, then a text turn in the same conversation.
  const turn1: EngineMessage[] = imagePrompt(rep * 100 + 3);
  const t1 = await sys.run({ messages: turn1, maxTokens: 16, session: `${tag}-conv` });
  const turn2: EngineMessage[] = [...turn1, { role: "assistant", text: t1.text }, { role: "user", text: "And what colour is it?" }];
  const t2 = await sys.run({ messages: turn2, maxTokens: 8, session: `${tag}-conv` });
  // Aggregate throughput with 1 and with 4 concurrent conversations.
  const one = await sys.run({ messages: textPrompt(rep * 100 + 4), maxTokens: DECODE_TOKENS, fresh: true });
  const started = performance.now();
  const four = await Promise.all([5, 6, 7, 8].map((i) => sys.run({ messages: textPrompt(rep * 100 + i), maxTokens: DECODE_TOKENS, fresh: true })));
  const wall4 = performance.now() - started;
  return {
    ttftText: text.ttftMs,
    ttftImage: image.ttftMs,
    decodeTps: text.decodeTps,
    followupTtft: t2.ttftMs,
    followupReuse: t2.promptTokens ? t2.reused / t2.promptTokens : 0,
    agg1: (one.tokens * 1000) / one.wallMs,
    agg4: (four.reduce((a, r) => a + r.tokens, 0) * 1000) / wall4,
  };
}

async function loadEngine(kind: "llama-server" | "in-process", model: Awaited<ReturnType<typeof scanCatalog>>["models"][number]) {
  return Engine.load({
    model,
    engine: kind,
    backend: kind === "in-process" ? "llama-node" : undefined,
    llamaServer: kind === "llama-server" ? { binary: builtServerPath(), gpuBuild: readBuildInfo()?.gpu ?? [] } : undefined,
    gpu: GPU_LAYERS > 0 ? ((process.env.GPU as "auto") ?? "auto") : "cpu",
    gpuLayers: GPU_LAYERS > 0 ? "auto" : 0,
    contextSize: CTX,
    threads: THREADS,
    slots: SLOTS,
    queueLimit: 16,
    cacheDir: fs.mkdtempSync(path.join(os.tmpdir(), `lvc-bench-${kind}-`)),
  });
}

async function main() {
  if (!readBuildInfo()) {
    log("llama-server is not built yet: running npm run engine:build");
    if (spawnSync("npm", ["run", "engine:build"], { stdio: "inherit" }).status !== 0) throw new Error("npm run engine:build failed");
  }
  const build = readBuildInfo()!;
  log(`threads ${THREADS}, context ${CTX} per slot, ${SLOTS} slots, ${REPS} repetitions, ${DECODE_TOKENS} decode tokens, GPU layers ${GPU_LAYERS}`);
  const pair = ensureRandomPair({ dir: path.join(root, ".cache", "models"), preset: "realistic" });
  const { models } = await scanCatalog({ dir: path.dirname(pair.llm), modelPath: pair.llm, mmprojPath: pair.mmproj });
  const model = models[0]!;
  log(`model: ${model.name}, ${(model.parameters / 1e6).toFixed(0)} M parameters (${model.fileType}); image tokens ${pair.imageTokens}`);

  const open: System[] = [];
  const engines: Engine[] = [];
  // Prompt rendering for the bare server: the engine's own, so all see the same text.
  let renderer: Engine | undefined;
  // Engines first: the bare server is sent the prompt text an engine renders.
  const bare = (n: string) => n === "llama-server" || n === "baseline-server";
  let engineServer: Engine | undefined;
  for (const name of [...ONLY].sort((a, b) => Number(bare(a)) - Number(bare(b)))) {
    let sys: System;
    if (bare(name)) {
      renderer ??= await loadEngine("in-process", model);
      if (!engines.includes(renderer)) engines.push(renderer);
      const shared = name === "llama-server" && SHARED && engineServer ? (engineServer as unknown as { backend: { server: ServerHandle } }).backend.server : undefined;
      if (shared) log("llama-server: driven on engine-server's own llama-server process");
      sys = await serverSystem(renderer, pair.llm, pair.mmproj, { name, binary: name === "baseline-server" ? BASELINE : undefined, shared });
    } else {
      const e = await loadEngine(name === "engine-server" ? "llama-server" : "in-process", model);
      engines.push(e);
      if (name === "engine-server") engineServer = e;
      renderer ??= e;
      log(`${name}: ${e.info.backend} ${e.info.variant}, ${e.info.gpuLayers} GPU layers (${e.info.variantReason})`);
      sys = await engineSystem(name, e);
    }
    await sys.run({ messages: textPrompt(0), maxTokens: 4, fresh: true }); // warm-up
    open.push(sys);
  }
  open.sort((a, b) => ONLY.indexOf(a.name) - ONLY.indexOf(b.name));
  const results: Record<string, Figures[]> = Object.fromEntries(open.map((s) => [s.name, []]));
  // Interleave the systems in each repetition so machine noise hits all alike.
  for (let rep = 0; rep < REPS; rep++) {
    for (const sys of open) {
      log(`rep ${rep + 1}/${REPS}: ${sys.name}`);
      results[sys.name]!.push(await measure(sys, rep));
    }
  }
  for (const sys of open) if (bare(sys.name)) await sys.close();
  for (const e of engines) await e.dispose();

  const med = Object.fromEntries(
    Object.entries(results).map(([name, rs]) => [name, Object.fromEntries(Object.keys(rs[0]!).map((k) => [k, median(rs.map((r) => r[k as keyof Figures]))])) as unknown as Figures]),
  );
  const rows: [string, keyof Figures, string][] = [
    ["time to first token, text prompt", "ttftText", "ms"],
    ["time to first token, image prompt", "ttftImage", "ms"],
    ["decode speed", "decodeTps", "tok/s"],
    ["follow-up turn, time to first token", "followupTtft", "ms"],
    ["follow-up turn, reused prompt share", "followupReuse", ""],
    ["aggregate, 1 conversation", "agg1", "tok/s"],
    ["aggregate, 4 conversations", "agg4", "tok/s"],
  ];
  const fmt = (v: number | undefined) => (v === undefined ? "-" : v < 10 ? v.toFixed(2) : v.toFixed(0));
  const names = open.map((s) => s.name);
  console.log(
    `\nmachine: ${os.cpus()[0]?.model ?? "?"} × ${os.availableParallelism()}, threads ${THREADS}, GPU layers ${GPU_LAYERS}; ${model.name} (${(model.parameters / 1e6).toFixed(0)} M, ${model.fileType}) + ViT-B/16 mmproj; llama-server ${build.commit.slice(0, 10)} (CPU${build.gpu.map((g) => ` + ${g}`).join("")})`,
  );
  console.log(`| metric (median of ${REPS}) | ${names.join(" | ")} | unit |`);
  console.log(`| --- |${names.map(() => " ---: |").join("")} --- |`);
  for (const [label, key, unit] of rows) console.log(`| ${label} | ${names.map((n) => fmt(med[n]![key])).join(" | ")} | ${unit} |`);
  const ls = med["llama-server"];
  const es = med["engine-server"];
  const ip = med["engine-inprocess"];
  const r = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || !b ? "n/a" : (a / b).toFixed(2));
  console.log(
    [
      "RATIOS",
      `server_decode_vs_llama_server=${r(es?.decodeTps, ls?.decodeTps)}`,
      `server_ttft_image_vs_llama_server=${r(es?.ttftImage, ls?.ttftImage)}`,
      `server_followup_reuse=${es ? es.followupReuse.toFixed(2) : "n/a"}`,
      `server_concurrency4_speedup=${r(es?.agg4, es?.agg1)}`,
      `llama_server_concurrency4_speedup=${r(ls?.agg4, ls?.agg1)}`,
      `inprocess_decode_vs_llama_server=${r(ip?.decodeTps, ls?.decodeTps)}`,
      `inprocess_ttft_image_vs_llama_server=${r(ip?.ttftImage, ls?.ttftImage)}`,
      ...(BASELINE ? [`llama_server_decode_vs_baseline=${r(ls?.decodeTps, med["baseline-server"]?.decodeTps)}`, `llama_server_ttft_image_vs_baseline=${r(ls?.ttftImage, med["baseline-server"]?.ttftImage)}`] : []),
    ].join(" "),
  );
}

await main();
