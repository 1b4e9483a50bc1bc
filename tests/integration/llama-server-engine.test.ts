import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CatalogModel } from "@/lib/engine/catalog";
import { Engine } from "@/lib/engine/engine";
import { builtServerPath } from "@/lib/engine/llama-server/binary";
import { freePort, isRunning } from "@/lib/engine/llama-server/supervisor";
import type { EngineMessage } from "@/lib/engine/types";
import { scanCatalog } from "@/lib/engine/catalog";
import { buildBpeVocab, byteSymbols } from "@/lib/gguf/bpe-vocab";
import { writeDecoderGguf } from "@/lib/gguf/decoder";
import { randomWeights } from "@/lib/gguf/random-pair";
import { drain, llamaServerBinary, loadEngine, MODEL_CACHE, tinyRandomModel } from "../helpers/engine";

// The supervised llama-server engine beyond the shared conformance suite:
// state that survives restarts of either process, slot affinity when there
// are more conversations than slots, a crash mid-answer, and a fleet of
// remote servers with one of them gone.

const IMAGE = path.resolve(import.meta.dirname, "..", "fixtures", "red-circle.png");
const greedy = { temperature: 0 };
let model: CatalogModel;

const tmpDir = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `lvc-${name}-`));

beforeAll(async () => {
  ({ model } = await tinyRandomModel());
});

describe("managed llama-server", () => {
  it("restores a conversation's state, image included, after the server and the app restart", async () => {
    const cacheDir = tmpDir("ls-persist");
    const turn1: EngineMessage[] = [{ role: "user", text: "Look at this.", images: [IMAGE] }];
    const first = await loadEngine(model, "llama-server", { cacheDir });
    const t1 = await drain(first, { messages: turn1, maxTokens: 8, sampling: greedy, sessionKey: "persisted" });
    await first.dispose();

    // A new engine (as after an app restart) starts a new llama-server.
    const second = await loadEngine(model, "llama-server", { cacheDir });
    try {
      const turn2: EngineMessage[] = [...turn1, { role: "assistant", text: t1.text }, { role: "user", text: "Again?" }];
      const t2 = await drain(second, { messages: turn2, maxTokens: 8, sampling: greedy, sessionKey: "persisted" });
      // Every token of turn 1, the image's included, came from the saved slot.
      expect(t2.usage.reusedPromptTokens).toBeGreaterThanOrEqual(t1.usage.promptTokens);
      const cold = await drain(second, { messages: turn2, maxTokens: 8, sampling: greedy });
      expect(cold.usage.reusedPromptTokens).toBe(0);
      expect(cold.text).toBe(t2.text);
    } finally {
      await second.dispose();
    }
  });

  it("brings a conversation back into a slot after other conversations took it", async () => {
    const engine = await loadEngine(model, "llama-server", { slots: 2 });
    try {
      const convs = ["a", "b", "c"].map((k) => ({ key: `affinity-${k}`, msgs: [{ role: "user", text: `Conversation ${k} starts here.` }] as EngineMessage[] }));
      const t1 = [];
      for (const c of convs) t1.push(await drain(engine, { messages: c.msgs, maxTokens: 6, sampling: greedy, sessionKey: c.key }));
      // Three conversations went through two slots: "a" was evicted by "c".
      const turn2: EngineMessage[] = [...convs[0]!.msgs, { role: "assistant", text: t1[0]!.text }, { role: "user", text: "More." }];
      const t2 = await drain(engine, { messages: turn2, maxTokens: 6, sampling: greedy, sessionKey: convs[0]!.key });
      expect(t2.usage.reusedPromptTokens).toBeGreaterThanOrEqual(t1[0]!.usage.promptTokens);
    } finally {
      await engine.dispose();
    }
  });

  it("ends an answer cut by kill -9 of llama-server as an error, restarts it, and serves the next answer", async () => {
    const engine = await loadEngine(model, "llama-server");
    try {
      const pid = engine.pid!;
      const hello: EngineMessage[] = [{ role: "user", text: "Tell me a long story." }];
      const cut = await drain(engine, { messages: hello, maxTokens: 4000, sampling: greedy, sessionKey: "crash" }, (_t, n) => {
        if (n === 3) process.kill(pid, "SIGKILL");
      });
      expect(cut.usage.finishReason).toBe("error");
      expect(cut.usage.error).toMatch(/model server stopped while answering .*SIGKILL/);
      expect(cut.deltas.length).toBeGreaterThanOrEqual(3);
      const next = await drain(engine, { messages: hello, maxTokens: 5, sampling: greedy, sessionKey: "crash" });
      expect(next.usage.finishReason).toBe("length");
      expect(next.text.length).toBeGreaterThan(0);
      expect(engine.pid).not.toBe(pid);
      expect(isRunning(pid)).toBe(false);
    } finally {
      await engine.dispose();
    }
  });

  it("restarts a server that is running but answers nothing (SIGSTOP), and never one that is only busy", async () => {
    const watch = { intervalMs: 300, timeoutMs: 500, misses: 3 };
    const engine = await loadEngine(model, "llama-server", { llamaServer: { ...llamaServerBinary(), watch } });
    try {
      const pid = engine.pid!;
      // Busy: two long answers at once on its two slots, for longer than the watch's patience; nothing restarts.
      const busy = await Promise.all(
        [0, 1].map((i) => drain(engine, { messages: [{ role: "user", text: `Busy ${i}: tell me a long story.` }], maxTokens: 1500, sampling: greedy })),
      );
      for (const b of busy) expect(b.usage.finishReason).toBe("length");
      expect(engine.pid).toBe(pid);
      // Hung: the process is there, and answers nothing.
      process.kill(pid, "SIGSTOP");
      for (let i = 0; i < 200 && engine.pid === pid; i++) await new Promise((r) => setTimeout(r, 50));
      expect(engine.pid).not.toBe(pid);
      expect(isRunning(pid)).toBe(false);
      const next = await drain(engine, { messages: [{ role: "user", text: "Are you back?" }], maxTokens: 5, sampling: greedy });
      expect(next.usage.finishReason).toBe("length");
    } finally {
      await engine.dispose();
    }
  });

  it("cuts an answer inside a character as 'length', and says in plain words when the model wrote bytes that are not text", async () => {
    // Byte-level BPE models whose output head only ever picks one byte: 0xE2 starts a three-byte
    // character ("…"), so a one-token answer is cut inside it, which is fine; 0x9F can only
    // continue a character, so the text is not UTF-8 and llama-server refuses it with HTTP 500
    // ("output that does not match the expected Content-only format").
    const vocab = buildBpeVocab({ pre: "default", specials: ["<|bos|>", "<|eos|>"], bos: "<|bos|>", eos: "<|eos|>" });
    const random = randomWeights(7, vocab);
    const oneByteModel = async (byte: number) => {
    const lead = byteSymbols()[byte]!;
    const file = path.join(MODEL_CACHE, `one-byte-${byte.toString(16)}.gguf`);
    if (!fs.existsSync(file)) {
      writeDecoderGguf(
        file,
        {
          arch: "llama",
          name: "half-character",
          vocab,
          nEmbd: 32,
          nLayer: 1,
          nHead: 2,
          nHeadKv: 1,
          nFf: 64,
          contextLength: 512,
          ropeFreqBase: 10000,
          rmsEps: 1e-5,
          tensorType: "F32",
          tiedOutput: false,
          chatTemplate: "{% for m in messages %}{{ m['content'] }}\n{% endfor %}",
          addBos: true,
        },
        (name, shape) => {
          const out = random(name, shape);
          // Every embedding is the same positive vector and the blocks add nothing, so the last
          // hidden state points the same way whatever the prompt, and only the lead byte's row
          // of the head has a positive logit.
          if (name === "token_embd.weight") return out.fill(1);
          if (/attn_output|ffn_down/.test(name)) return out.fill(0);
          if (name === "output.weight") {
            out.fill(0);
            const row = vocab.tokens.indexOf(lead);
            out.fill(1, row * shape[0]!, (row + 1) * shape[0]!);
          }
          return out;
        },
      );
    }
    const { models } = await scanCatalog({ dir: tmpDir("one-byte"), modelPath: file });
    return loadEngine(models[0]!, "llama-server");
    };
    const ask = { messages: [{ role: "user" as const, text: "Say something." }], maxTokens: 1, sampling: greedy };
    const cut = await oneByteModel(0xe2);
    try {
      const { usage } = await drain(cut, ask);
      expect(usage.error).toBeUndefined();
      expect(usage.finishReason).toBe("length");
    } finally {
      await cut.dispose();
    }
    const stray = await oneByteModel(0x9f);
    try {
      const { usage } = await drain(stray, ask);
      expect(usage).toMatchObject({ finishReason: "error", error: "The model wrote bytes that are not valid text, and llama-server stopped the answer there." });
      // The server is fine: the next answer is refused the same way, not with a crash.
      expect((await drain(stray, ask)).usage.error).toMatch(/not valid text/);
    } finally {
      await stray.dispose();
    }
  });

  it("stops generating on the server when the client aborts", async () => {
    const apiKey = "abort-test-key";
    const engine = await loadEngine(model, "llama-server", { slots: 1, llamaServer: { ...llamaServerBinary(), apiKey } });
    try {
      const controller = new AbortController();
      const r = await drain(
        engine,
        { messages: [{ role: "user", text: "Go on forever." }], maxTokens: 4000, sampling: greedy, signal: controller.signal },
        (_t, n) => n === 3 && controller.abort(),
      );
      expect(r.usage.finishReason).toBe("aborted");
      // The server's only slot is idle again at once, not still decoding 4000 tokens.
      const url = engine.status().servers![0]!.url;
      let processing = true;
      for (let i = 0; i < 40 && processing; i++) {
        const slots = (await (await fetch(`${url}/slots`, { headers: { authorization: `Bearer ${apiKey}` } })).json()) as { is_processing: boolean }[];
        processing = slots.some((s) => s.is_processing);
        if (processing) await new Promise((res) => setTimeout(res, 50));
      }
      expect(processing).toBe(false);
    } finally {
      await engine.dispose();
    }
  });
});

describe("remote fleet", () => {
  const servers: Engine[] = [];
  const apiKey = "fleet-key";
  beforeAll(async () => {
    // Two llama-servers on loopback stand in for two hosts; both want the same key.
    for (let i = 0; i < 2; i++) servers.push(await loadEngine(model, "llama-server", { llamaServer: { ...llamaServerBinary(), apiKey } }));
  });
  afterAll(async () => {
    for (const s of servers) await s.dispose();
  });
  const urlOf = (e: Engine) => e.status().servers![0]!.url;
  /** The remote engine over these servers. */
  const loadFleet = (urls: string[], key: string, slots: number) =>
    Engine.load({ engine: "remote", remote: { urls, apiKey: key }, gpu: "cpu", gpuLayers: 0, contextSize: 2048, threads: 1, slots, queueLimit: 4, cacheDir: tmpDir("remote") });

  it("learns the model and its vision from the servers and spreads answers over both", async () => {
    const engine = await loadFleet(servers.map((s) => `${urlOf(s)}/v1`), apiKey, 4);
    try {
      expect(engine.info.backend).toBe("remote");
      expect(engine.info.vision).toBe(true);
      const inFlight: number[][] = [];
      const answers = await Promise.all(
        [0, 1].map((i) =>
          drain(engine, { messages: [{ role: "user", text: `Parallel ${i}`, images: [IMAGE] }], maxTokens: 8, sampling: greedy }, () => {
            const fleet = engine.status().servers!;
            inFlight.push(servers.map((s) => fleet.find((p) => p.url === urlOf(s))!.inFlight));
          }),
        ),
      );
      for (const a of answers) expect(a.usage.finishReason).toBe("length");
      // Least busy first: while both ran, each server had one.
      expect(inFlight.some(([a, b]) => a === 1 && b === 1)).toBe(true);
    } finally {
      await engine.dispose();
    }
  });

  it("refuses to start when the servers reject the key, without naming their addresses", async () => {
    const load = loadFleet(servers.map(urlOf), "wrong", 2);
    await expect(load).rejects.toThrow(/None of the 2 engine servers in ENGINE_URL answered/);
    await expect(load).rejects.not.toThrow(/127\.0\.0\.1/);
  });

  it("sends every request to the server that is still up when the other stops", async () => {
    const engine = await loadFleet(servers.map(urlOf), apiKey, 2);
    try {
      const gone = servers[0]!;
      const goneUrl = urlOf(gone);
      await gone.dispose();
      for (let i = 0; i < 3; i++) {
        const r = await drain(engine, { messages: [{ role: "user", text: `Still there ${i}?` }], maxTokens: 4, sampling: greedy });
        expect(r.usage.finishReason).toBe("length");
      }
      expect(engine.status().servers!.find((p) => p.url === goneUrl)).toMatchObject({ up: false });
    } finally {
      await engine.dispose();
    }
  });

  it("takes a server back into rotation once it answers again", async () => {
    // A bare llama-server on a port of our choosing, so it can come back on the same address.
    const port = await freePort();
    const startBare = async (): Promise<ChildProcess> => {
      const child = spawn(builtServerPath(), ["-m", model.path, "--port", String(port), "-np", "2", "-c", "4096"], {
        stdio: "ignore",
        env: { ...process.env, LLAMA_API_KEY: apiKey },
      });
      for (let i = 0; i < 200; i++) {
        if ((await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.ok) return child;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error("bare llama-server did not start");
    };
    let bare = await startBare();
    const bareUrl = `http://127.0.0.1:${port}`;
    const engine = await loadFleet([bareUrl, urlOf(servers[1]!)], apiKey, 2);
    const ask = () => drain(engine, { messages: [{ role: "user", text: "Are you there?" }], maxTokens: 4, sampling: greedy });
    const bareState = () => engine.status().servers!.find((p) => p.url === bareUrl)!;
    try {
      bare.kill("SIGKILL");
      await new Promise((r) => bare.once("exit", r));
      expect((await ask()).usage.finishReason).toBe("length"); // served by the other one
      expect(bareState()).toMatchObject({ up: false });
      bare = await startBare();
      // After its first failure a server sits out 2 s, then gets requests again.
      await new Promise((r) => setTimeout(r, 2200));
      expect((await ask()).usage.finishReason).toBe("length");
      expect(bareState()).toMatchObject({ up: true, lastError: undefined });
    } finally {
      bare.kill("SIGKILL");
      await engine.dispose();
    }
  });
});
