// npx tsx bench/hop.ts — where the time between llama-server's stream and the
// engine's goes. One llama-server (the engine's own, supervised), the same
// prompt and request body, interleaved BENCH_REPS times (default 5):
//   raw     fetch + readSseJson straight from the engine's llama-server
//   engine  Engine.generate() (backend, slot, prompt rendering), as the app uses it
// Both report the client-side decode rate (tokens after the first / time
// after the first) and llama-server's own (timings.predicted_per_second).
// Run it under `node --cpu-prof --cpu-prof-dir DIR --import tsx bench/hop.ts`
// for a profile of the answers.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { scanCatalog } from "../lib/engine/catalog";
import { Engine } from "../lib/engine/engine";
import { builtServerPath, readBuildInfo } from "../lib/engine/llama-server/binary";
import { readSseJson } from "../lib/engine/sse";
import { ensureRandomPair } from "../lib/gguf/random-pair";

const root = path.resolve(import.meta.dirname, "..");
process.chdir(root);
const REPS = Number(process.env.BENCH_REPS ?? 5);
const TOKENS = Number(process.env.BENCH_DECODE_TOKENS ?? 64);
const THREADS = Number(process.env.BENCH_THREADS ?? Math.max(1, os.availableParallelism() - 1));
const ONLY = (process.env.BENCH_SYSTEMS ?? "raw,engine").split(",");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  if (!readBuildInfo()) throw new Error("llama-server is not built: npm run engine:build");
  const pair = ensureRandomPair({ dir: path.join(root, ".cache", "models"), preset: "realistic" });
  const { models } = await scanCatalog({ dir: path.dirname(pair.llm), modelPath: pair.llm, mmprojPath: pair.mmproj });
  const engine = await Engine.load({
    model: models[0]!,
    engine: "llama-server",
    llamaServer: { binary: builtServerPath(), gpuBuild: [] },
    gpu: "cpu",
    gpuLayers: 0,
    contextSize: 2048,
    threads: THREADS,
    slots: 4,
    queueLimit: 16,
    cacheDir: fs.mkdtempSync(path.join(os.tmpdir(), "lvc-hop-")),
  });
  // The engine's own server, to send it the very request the backend sends.
  const server = (engine as unknown as { backend: { server: { url: string; headers: (h?: Record<string, string>) => Record<string, string> } } }).backend.server;
  const messages = (i: number) => [{ role: "user" as const, text: `Question ${i}: describe a red circle on a white background in detail, please.` }];
  const { prompt } = engine.render(messages(0));
  const body = (p: string) => ({
    prompt: p, n_predict: TOKENS, temperature: 0, top_k: 40, top_p: 0.95, seed: -1, min_p: 0, typical_p: 1, repeat_penalty: 1, repeat_last_n: 0,
    presence_penalty: 0, frequency_penalty: 0, dry_multiplier: 0, xtc_probability: 0, top_n_sigma: -1, mirostat: 0, stream: true, cache_prompt: false, id_slot: 0,
  });
  const res: Record<string, { client: number[]; server: number[] }> = { raw: { client: [], server: [] }, engine: { client: [], server: [] } };
  let lastServerTps = 0;
  const origFetch = globalThis.fetch;
  // Reads llama-server's own decode rate off the engine's stream too (a tee of the final event).
  globalThis.fetch = async (input, init) => {
    const r = await origFetch(input, init);
    if (!String(input).endsWith("/completion") || !r.body) return r;
    const [a, b] = r.body.tee();
    void (async () => {
      for await (const ev of readSseJson<{ stop?: boolean; timings?: { predicted_per_second?: number } }>(b)) if (ev.stop) lastServerTps = ev.timings?.predicted_per_second ?? 0;
    })();
    return new Response(a, { status: r.status, headers: r.headers });
  };
  const raw = async (i: number) => {
    const started = performance.now();
    const r = await origFetch(`${server.url}/completion`, { method: "POST", headers: server.headers({ "content-type": "application/json" }), body: JSON.stringify(body(engine.render(messages(i)).prompt)) });
    let first = 0;
    let n = 0;
    let serverTps = 0;
    for await (const ev of readSseJson<{ content?: string; stop?: boolean; timings?: { predicted_per_second?: number } }>(r.body!)) {
      if (ev.content) {
        if (!first) first = performance.now();
        n++;
      }
      if (ev.stop) serverTps = ev.timings?.predicted_per_second ?? 0;
    }
    const end = performance.now();
    void started;
    return { client: ((n - 1) * 1000) / (end - first), server: serverTps };
  };
  const viaEngine = async (i: number) => {
    let tps = 0;
    for await (const ev of engine.generate({ messages: messages(i), maxTokens: TOKENS, sampling: { temperature: 0 } })) if (ev.type === "done") tps = ev.usage.tokensPerSecond;
    await new Promise((r) => setTimeout(r, 20));
    return { client: tps, server: lastServerTps };
  };
  void prompt;
  await raw(0);
  await viaEngine(0);
  for (let rep = 1; rep <= REPS; rep++) {
    for (const name of ONLY) {
      const r = name === "raw" ? await raw(rep) : await viaEngine(rep);
      res[name]!.client.push(r.client);
      res[name]!.server.push(r.server);
      process.stderr.write(`rep ${rep} ${name}: client ${r.client.toFixed(2)} tok/s, llama-server's own ${r.server.toFixed(2)} tok/s\n`);
    }
  }
  await engine.dispose();
  const line = ONLY.map((n) => `${n}_client=${median(res[n]!.client).toFixed(2)} ${n}_server=${median(res[n]!.server).toFixed(2)}`).join(" ");
  const ratio = ONLY.length === 2 ? ` engine_vs_raw=${(median(res.engine!.client) / median(res.raw!.client)).toFixed(3)}` : "";
  console.log(`HOP ${line}${ratio} (median of ${REPS}, ${TOKENS} tokens, ${THREADS} threads)`);
}

await main();
