// npm run bench:engine — the engine against its baselines, in one run, on the
// realistic-size random pair (~0.5 B-parameter llama, Q8_0 + ViT-B/16 224 px
// mmproj; random weights run at the speed of trained ones):
//   1. our Engine (lib/engine, llama-node backend, as the app uses it)
//   2. the bare binding (@fugood/llama.node called directly, same options)
//   3. llama.cpp's own llama-server, built offline from the source bundled
//      in node-llama-cpp (into ~/.cache/lvc, never the repo)
// Same model files, threads, context and slots for all three. Medians of
// BENCH_REPS runs (default 3). The last line is the RATIOS summary.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { loadModel, toggleNativeLog, addNativeLogListener } from "@fugood/llama.node";
import { scanCatalog } from "../lib/engine/catalog";
import { Engine } from "../lib/engine/engine";
import type { EngineMessage } from "../lib/engine/types";
import { ensureRandomPair } from "../lib/gguf/random-pair";

const root = path.resolve(import.meta.dirname, "..");
const cacheRoot = path.join(os.homedir(), ".cache", "lvc");
const THREADS = Number(process.env.BENCH_THREADS ?? Math.max(1, os.availableParallelism() - 1));
const CTX = Number(process.env.BENCH_CTX ?? 2048);
const SLOTS = 4;
const REPS = Number(process.env.BENCH_REPS ?? 3);
const DECODE_TOKENS = Number(process.env.BENCH_DECODE_TOKENS ?? 32);
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
// 1. Our engine

async function engineSystem(engine: Engine): Promise<System> {
  let n = 0;
  return {
    name: "engine",
    async run({ messages, maxTokens, session, fresh }) {
      const started = performance.now();
      let first = 0;
      let text = "";
      let usage;
      for await (const ev of engine.generate({ messages, maxTokens, sampling: { temperature: 0 }, sessionKey: fresh ? `fresh-${n++}` : session })) {
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
// 2. The bare binding, with the same prompt text and options

async function bindingSystem(engine: Engine, llm: string, mmproj: string): Promise<System> {
  addNativeLogListener(() => {});
  await toggleNativeLog(true);
  const ctx = await loadModel({ model: llm, n_ctx: CTX * SLOTS, n_batch: 512, n_threads: THREADS, n_gpu_layers: 0, n_parallel: SLOTS, kv_unified: false });
  ctx.initMultimodal({ path: mmproj, use_gpu: false });
  await ctx.parallel.enable({ n_parallel: SLOTS, n_batch: 512 });
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-bench-state-"));
  const saved = new Set<string>();
  return {
    name: "binding",
    async run({ messages, maxTokens, session }) {
      const { prompt, images } = engine.render(messages);
      const state = session ? path.join(stateDir, `${session}.bin`) : undefined;
      const started = performance.now();
      let first = 0;
      let tokens = 0;
      const { promise } = await ctx.parallel.completion(
        {
          prompt: images.length ? prompt : `<s>${prompt}`,
          media_paths: images.length ? images : undefined,
          n_predict: maxTokens,
          temperature: 0,
          penalty_repeat: 1,
          penalty_last_n: 0,
          dry_multiplier: 0,
          load_state_path: state && saved.has(state) ? state : undefined,
          save_state_path: state,
        },
        () => {
          if (!first) first = performance.now();
          tokens++;
        },
      );
      const r = (await promise) as { text: string; timings: { cache_n: number; prompt_n: number } };
      const end = performance.now();
      if (state) saved.add(state);
      return {
        ttftMs: first - started,
        tokens,
        decodeTps: tokens > 1 ? ((tokens - 1) * 1000) / (end - first) : 0,
        wallMs: end - started,
        reused: r.timings.cache_n,
        promptTokens: r.timings.cache_n + r.timings.prompt_n,
        text: r.text,
      };
    },
    async close() {
      ctx.parallel.disable();
      await ctx.release();
      await toggleNativeLog(false);
    },
  };
}

// ---------------------------------------------------------------------------
// 3. llama-server, built offline from node-llama-cpp's bundled llama.cpp

function buildLlamaServer(): string {
  const src = path.join(cacheRoot, "llama.cpp");
  const build = path.join(cacheRoot, "build-server");
  const bin = path.join(build, "bin", "llama-server");
  if (fs.existsSync(bin)) return bin;
  fs.mkdirSync(cacheRoot, { recursive: true });
  if (!fs.existsSync(src)) {
    const bundle = path.join(root, "node_modules", "node-llama-cpp", "llama", "gitRelease.bundle");
    log(`cloning llama.cpp from ${bundle}`);
    if (spawnSync("git", ["clone", "-q", bundle, src], { stdio: "inherit" }).status !== 0) throw new Error("git clone of the bundle failed");
  }
  log("building llama-server (several minutes, once)…");
  const opts = ["-DCMAKE_BUILD_TYPE=Release", "-DLLAMA_BUILD_SERVER=ON", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_OPENSSL=OFF"];
  if (spawnSync("cmake", ["-S", src, "-B", build, ...opts], { stdio: "inherit" }).status !== 0) throw new Error("cmake configure failed");
  if (spawnSync("cmake", ["--build", build, "--target", "llama-server", `-j${os.availableParallelism()}`], { stdio: "inherit" }).status !== 0) {
    throw new Error("cmake build failed");
  }
  return bin;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function serverSystem(engine: Engine, llm: string, mmproj: string): Promise<System> {
  const bin = buildLlamaServer();
  const port = await freePort();
  const child: ChildProcess = spawn(
    bin,
    ["-m", llm, "--mmproj", mmproj, "-c", String(CTX * SLOTS), "-np", String(SLOTS), "-t", String(THREADS), "-tb", String(THREADS), "-b", "512", "--port", String(port), "--host", "127.0.0.1", "-ngl", "0", "--no-webui"],
    // A fixed media marker: by default llama-server picks a random one per start.
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, LLAMA_MEDIA_MARKER: "<__media__>" } },
  );
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      /* starting */
    }
    if (child.exitCode !== null || i > 600) throw new Error(`llama-server did not start:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const slotOf = new Map<string, number>();
  const image64 = fs.readFileSync(IMAGE).toString("base64");
  return {
    name: "llama-server",
    async run({ messages, maxTokens, session }) {
      const { prompt, images } = engine.render(messages);
      if (session && !slotOf.has(session)) slotOf.set(session, slotOf.size % SLOTS);
      const started = performance.now();
      const res = await fetch(`${url}/completion`, {
        method: "POST",
        headers: { "content-type": "application/json" },
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
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let buf = "";
      let first = 0;
      let tokens = 0;
      let text = "";
      let timings = { cache_n: 0, prompt_n: 0 };
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line.startsWith("data: ")) continue;
          const ev = JSON.parse(line.slice(6)) as { content?: string; stop?: boolean; timings?: typeof timings };
          if (ev.content) {
            if (!first) first = performance.now();
            tokens++;
            text += ev.content;
          }
          if (ev.stop && ev.timings) timings = ev.timings;
        }
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
    async close() {
      child.kill("SIGTERM");
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

async function main() {
  log(`threads ${THREADS}, context ${CTX} per slot, ${SLOTS} slots, ${REPS} repetitions, ${DECODE_TOKENS} decode tokens`);
  const pair = ensureRandomPair({ dir: path.join(root, ".cache", "models"), preset: "realistic" });
  const { models } = await scanCatalog({ dir: path.dirname(pair.llm), modelPath: pair.llm, mmprojPath: pair.mmproj });
  const model = models[0]!;
  log(`model: ${model.name}, ${(model.parameters / 1e6).toFixed(0)} M parameters (${model.fileType}); image tokens ${pair.imageTokens}`);

  const engine = await Engine.load({
    model,
    backend: "llama-node",
    gpu: (process.env.GPU as "cpu") ?? "cpu",
    gpuLayers: "auto",
    contextSize: CTX,
    threads: THREADS,
    slots: SLOTS,
    queueLimit: 16,
    cacheDir: fs.mkdtempSync(path.join(os.tmpdir(), "lvc-bench-engine-")),
  });
  log(`engine: ${engine.info.backend} ${engine.info.variant} (${engine.info.variantReason})`);
  const results: Record<string, Figures[]> = {};
  const systems: (() => Promise<System>)[] = [
    () => engineSystem(engine),
    () => bindingSystem(engine, pair.llm, pair.mmproj),
    () => serverSystem(engine, pair.llm, pair.mmproj),
  ];
  const open: System[] = [];
  for (const make of systems) {
    const sys = await make();
    open.push(sys);
    await sys.run({ messages: textPrompt(0), maxTokens: 4, fresh: true }); // warm-up
    results[sys.name] = [];
  }
  // Interleave the systems in each repetition so machine noise hits all alike.
  for (let rep = 0; rep < REPS; rep++) {
    for (const sys of open) {
      log(`rep ${rep + 1}/${REPS}: ${sys.name}`);
      results[sys.name]!.push(await measure(sys, rep));
    }
  }
  for (const sys of open.slice(1)) await sys.close();

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
  const fmt = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(0));
  console.log(`\nmachine: ${os.cpus()[0]?.model ?? "?"} × ${os.availableParallelism()}, threads ${THREADS}; ${model.name} (${(model.parameters / 1e6).toFixed(0)} M, ${model.fileType}) + ViT-B/16 mmproj`);
  console.log(`${"metric (median of " + REPS + ")".padEnd(42)}${"engine".padStart(10)}${"binding".padStart(10)}${"server".padStart(10)}  unit`);
  for (const [label, key, unit] of rows) {
    console.log(`${label.padEnd(42)}${fmt(med.engine![key]).padStart(10)}${fmt(med.binding![key]).padStart(10)}${fmt(med["llama-server"]![key]).padStart(10)}  ${unit}`);
  }
  const e = med.engine!;
  const r = (x: number) => x.toFixed(2);
  console.log(
    `RATIOS decode_vs_binding=${r(e.decodeTps / med.binding!.decodeTps)} ttft_image_vs_binding=${r(e.ttftImage / med.binding!.ttftImage)} decode_vs_llama_server=${r(e.decodeTps / med["llama-server"]!.decodeTps)} ttft_image_vs_llama_server=${r(e.ttftImage / med["llama-server"]!.ttftImage)} followup_reuse=${r(e.followupReuse)} concurrency4_speedup=${r(e.agg4 / e.agg1)}`,
  );
  await open[0]!.close();
}

await main();
