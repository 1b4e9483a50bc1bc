// npm run bench:api — what the OpenAI-compatible API adds on top of the
// engine: time to first token and time per token through
// POST /v1/chat/completions (streaming, the real app server, its key check,
// request parsing, SSE encoding) against the same engine called directly in
// this process, in one run, on the shipped demo model; and Ollama's
// /ollama/api/chat (NDJSON) against /v1 (ollama_overhead_ms). Same engine kind as
// the app picks (ENGINE, default auto), same threads, greedy, prompts that
// nothing has cached. Medians of BENCH_REPS (default 10), interleaved. Then
// structured_overhead_ms_per_token: JSON-schema-constrained decoding against
// free decoding of the same question, on llama-server.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chooseEngine } from "../lib/engine/choose-engine";
import { pickModel, scanCatalog } from "../lib/engine/catalog";
import { Engine } from "../lib/engine/engine";
import { readSseJson } from "../lib/engine/sse";
import type { EngineKind } from "../lib/engine/types";
import { defaultThreads } from "../lib/env-schema";
import { TestClient } from "../tests/helpers/client";
import { startServer } from "../tests/helpers/server";

const root = path.resolve(import.meta.dirname, "..");
process.chdir(root);
const REPS = Number(process.env.BENCH_REPS ?? 10);
const TOKENS = Number(process.env.BENCH_DECODE_TOKENS ?? 48);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ENGINE = (process.env.ENGINE ?? "auto") as "auto" | EngineKind;

interface Timing {
  ttftMs: number;
  /** Milliseconds per token after the first. */
  perTokenMs: number;
  tokens: number;
}

const question = (i: number) => `Question ${i} of the benchmark: what shapes do you know about, and which colours can they have?`;

async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-bench-api-"));
  const server = await startServer({ dataDir, env: { ENGINE } });
  try {
    const client = new TestClient(server.url, "127.0.0.1");
    await client.newAccount();
    const { secret } = (await (await client.fetch("/api/keys", { method: "POST", json: { name: "bench" } })).json()) as { secret: string };
    const auth = { authorization: `Bearer ${secret}` };
    for (let i = 0; i < 600; i++) {
      const h = (await (await fetch(`${server.url}/api/health`)).json()) as { model: { status: string } };
      if (h.model.status === "ready") break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const model = ((await (await fetch(`${server.url}/v1/models`, { headers: auth })).json()) as { data: { id: string }[] }).data[0]!.id;

    // The engine the app runs, loaded here the same way.
    const choice = chooseEngine({ ENGINE, ENGINE_URL: undefined, LLAMA_SERVER_PATH: undefined });
    const catalog = await scanCatalog({ dir: path.join(root, "models") });
    const engine = await Engine.load({
      model: pickModel(catalog),
      engine: choice.kind,
      llamaServer: choice.llamaServer,
      gpu: "cpu",
      gpuLayers: 0,
      contextSize: 4096,
      threads: Number(process.env.THREADS) || defaultThreads(choice.kind === "in-process" ? "in-process" : "llama-server"),
      slots: 4,
      queueLimit: 16,
      cacheDir: fs.mkdtempSync(path.join(os.tmpdir(), "lvc-bench-api-engine-")),
    });

    const viaApi = async (i: number): Promise<Timing> => {
      const started = performance.now();
      const res = await fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ model, stream: true, temperature: 0, max_tokens: TOKENS, messages: [{ role: "user", content: question(i) }] }),
      });
      let first = 0;
      let last = 0;
      let tokens = 0;
      for await (const ev of readSseJson<{ choices?: { delta?: { content?: string } }[] }>(res.body!)) {
        if (ev.choices?.[0]?.delta?.content) {
          last = performance.now();
          if (!first) first = last;
          tokens++;
        }
      }
      return { ttftMs: first - started, perTokenMs: tokens > 1 ? (last - first) / (tokens - 1) : 0, tokens };
    };
    /** The same question through Ollama's /ollama/api/chat (NDJSON), sampled as /v1 samples it. */
    const viaOllama = async (i: number): Promise<Timing> => {
      const started = performance.now();
      const res = await fetch(`${server.url}/ollama/api/chat`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ model, options: { temperature: 0, top_p: 1, num_predict: TOKENS }, messages: [{ role: "user", content: question(i) }] }),
      });
      let first = 0;
      let last = 0;
      let tokens = 0;
      let buffer = "";
      const decoder = new TextDecoder();
      const reader = res.body!.getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        buffer += decoder.decode(r.value, { stream: true });
        const lines = buffer.split("\n");
        buffer = lines.pop()!;
        for (const line of lines) {
          if (!line || !(JSON.parse(line) as { message?: { content?: string } }).message?.content) continue;
          last = performance.now();
          if (!first) first = last;
          tokens++;
        }
      }
      return { ttftMs: first - started, perTokenMs: tokens > 1 ? (last - first) / (tokens - 1) : 0, tokens };
    };
    const direct = async (i: number): Promise<Timing> => {
      const started = performance.now();
      let first = 0;
      let last = 0;
      let tokens = 0;
      for await (const ev of engine.generate({ messages: [{ role: "user", text: question(i) }], maxTokens: TOKENS, sampling: { temperature: 0 }, sessionKey: `bench-${i}` })) {
        if (ev.type === "delta") {
          last = performance.now();
          if (!first) first = last;
          tokens++;
        }
      }
      return { ttftMs: first - started, perTokenMs: tokens > 1 ? (last - first) / (tokens - 1) : 0, tokens };
    };

    await viaApi(-1);
    await direct(-2);
    await viaOllama(-3);
    const api: Timing[] = [];
    const eng: Timing[] = [];
    for (let r = 0; r < REPS; r++) {
      // Different questions every time: nothing is reused from a cache.
      api.push(await viaApi(r * 2));
      eng.push(await direct(r * 2 + 1));
    }
    await engine.dispose();
    // Ollama's route against /v1 on their own, in pairs whose order alternates (neither always follows the other).
    const pairApi: Timing[] = [];
    const oll: Timing[] = [];
    for (let r = 0; r < REPS; r++) {
      const q = 1000 + r * 2;
      if (r % 2) oll.push(await viaOllama(q));
      pairApi.push(await viaApi(q + 1));
      if (!(r % 2)) oll.push(await viaOllama(q));
    }
    const structured = await structuredOverhead(catalog);

    const m = (xs: Timing[], k: keyof Timing) => median(xs.map((x) => x[k]));
    console.log(`\nmachine: ${os.cpus()[0]?.model ?? "?"} × ${os.availableParallelism()}; ${model} on ${choice.kind}; ${TOKENS} tokens; median of ${REPS}`);
    console.log("| | through /v1/chat/completions | engine directly | unit |\n| --- | ---: | ---: | --- |");
    console.log(`| time to first token | ${m(api, "ttftMs").toFixed(1)} | ${m(eng, "ttftMs").toFixed(1)} | ms |`);
    console.log(`| time per token | ${m(api, "perTokenMs").toFixed(2)} | ${m(eng, "perTokenMs").toFixed(2)} | ms |`);
    console.log(`| tokens | ${m(api, "tokens")} | ${m(eng, "tokens")} | |`);
    console.log(`API overhead_ttft_ms=${(m(api, "ttftMs") - m(eng, "ttftMs")).toFixed(1)} overhead_per_token_ms=${(m(api, "perTokenMs") - m(eng, "perTokenMs")).toFixed(2)}`);
    // Ollama's route against /v1/chat/completions: per request (time to first token) and per token.
    console.log(`| /ollama/api/chat against /v1 (pairs): first token | ${m(oll, "ttftMs").toFixed(1)} | ${m(pairApi, "ttftMs").toFixed(1)} (/v1) | ms |`);
    console.log(`| /ollama/api/chat against /v1 (pairs): per token | ${m(oll, "perTokenMs").toFixed(2)} | ${m(pairApi, "perTokenMs").toFixed(2)} (/v1) | ms |`);
    console.log(`ollama_overhead_ms=${(m(oll, "ttftMs") - m(pairApi, "ttftMs")).toFixed(1)} ollama_overhead_per_token_ms=${(m(oll, "perTokenMs") - m(pairApi, "perTokenMs")).toFixed(2)}`);
    console.log(
      `structured output on llama-server: ${structured.free.toFixed(2)} ms/token free, ${structured.constrained.toFixed(2)} ms/token under a JSON schema (${structured.tokens} tokens, median of ${REPS}) structured_overhead_ms_per_token=${(structured.constrained - structured.free).toFixed(2)}`,
    );
  } finally {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * What grammar-constrained decoding costs per token on llama-server: the same
 * question decoded freely and under a JSON schema (one string field, so the
 * model writes about as much), interleaved, medians of the time per token
 * after the first. Its own llama-server whatever ENGINE is.
 */
async function structuredOverhead(catalog: Awaited<ReturnType<typeof scanCatalog>>): Promise<{ free: number; constrained: number; tokens: number }> {
  const choice = chooseEngine({ ENGINE: "llama-server", ENGINE_URL: undefined, LLAMA_SERVER_PATH: undefined });
  const engine = await Engine.load({
    model: pickModel(catalog),
    engine: "llama-server",
    llamaServer: choice.llamaServer,
    gpu: "cpu",
    gpuLayers: 0,
    contextSize: 4096,
    threads: Number(process.env.THREADS) || defaultThreads("llama-server"),
    slots: 4,
    queueLimit: 16,
    cacheDir: fs.mkdtempSync(path.join(os.tmpdir(), "lvc-bench-structured-")),
  });
  const schema = { type: "object", properties: { answer: { type: "string" } }, required: ["answer"], additionalProperties: false };
  const perToken = async (i: number, constrained: boolean) => {
    let first = 0;
    let last = 0;
    let tokens = 0;
    const events = engine.generate({ messages: [{ role: "user", text: question(i) }], maxTokens: TOKENS, sampling: { temperature: 0 }, sessionKey: `bench-structured-${i}-${constrained}`, constraint: constrained ? { jsonSchema: schema } : undefined });
    for await (const ev of events) {
      if (ev.type !== "delta") continue;
      last = performance.now();
      if (!first) first = last;
      tokens++;
    }
    return { ms: tokens > 1 ? (last - first) / (tokens - 1) : 0, tokens };
  };
  try {
    await perToken(-3, true);
    const free: number[] = [];
    const constrained: number[] = [];
    const tokens: number[] = [];
    for (let r = 0; r < REPS; r++) {
      free.push((await perToken(1000 + r, false)).ms);
      const c = await perToken(1000 + r, true);
      constrained.push(c.ms);
      tokens.push(c.tokens);
    }
    return { free: median(free), constrained: median(constrained), tokens: median(tokens) };
  } finally {
    await engine.dispose();
  }
}

await main();
