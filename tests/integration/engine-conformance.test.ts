import { spawnSync } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CatalogModel } from "@/lib/engine/catalog";
import type { Engine } from "@/lib/engine/engine";
import { EngineError } from "@/lib/engine/errors";
import type { EngineMessage } from "@/lib/engine/types";
import { drain, loadEngine, tinyRandomModel, type TestBackend } from "../helpers/engine";

// The same conformance suite for every backend — the two in-process
// bindings and a supervised llama-server built from the bundled source — on
// the same deterministic random-weight pair (random weights exercise every
// code path; only the answers are gibberish).

const IMAGE = path.resolve(import.meta.dirname, "..", "fixtures", "red-circle.png");
const greedy = { temperature: 0 };
const hello: EngineMessage[] = [{ role: "user", text: "Hello, who are you?" }];

let model: CatalogModel;
let imageTokens: number;
const BACKENDS = ["llama-node", "node-llama-cpp", "llama-server"] as const satisfies TestBackend[];
const engines: Partial<Record<TestBackend, Engine>> = {};

beforeAll(async () => {
  ({ model, imageTokens } = await tinyRandomModel());
  for (const b of BACKENDS) engines[b] = await loadEngine(model, b);
});
afterAll(async () => {
  for (const b of BACKENDS) await engines[b]?.dispose();
});

describe("every backend", () => {
  it("gives identical greedy output for the same text prompt", async () => {
    const [a, ...rest] = await Promise.all(BACKENDS.map((b) => drain(engines[b]!, { messages: hello, maxTokens: 24, sampling: greedy })));
    expect(a!.text.length).toBeGreaterThan(0);
    for (const r of rest) {
      expect(r.text).toBe(a!.text);
      expect(r.usage.promptTokens).toBe(a!.usage.promptTokens);
    }
    expect(a!.usage.completionTokens).toBe(24);
    expect(a!.usage.finishReason).toBe("length");
  });

  it("gives identical greedy output for an image prompt (both image-capable backends)", async () => {
    const msgs: EngineMessage[] = [{ role: "user", text: "What is this?", images: [IMAGE] }];
    const a = await drain(engines["llama-node"]!, { messages: msgs, maxTokens: 16, sampling: greedy });
    const b = await drain(engines["llama-server"]!, { messages: msgs, maxTokens: 16, sampling: greedy });
    expect(b.text).toBe(a.text);
    expect(b.usage.promptTokens).toBe(a.usage.promptTokens);
  });
});

describe.each(BACKENDS)("%s", (backend) => {
  const engine = () => engines[backend]!;

  it("streams deltas that add up to the text, then usage", async () => {
    const r = await drain(engine(), { messages: hello, maxTokens: 12, sampling: greedy });
    expect(r.deltas.length).toBeGreaterThan(1);
    expect(r.usage.text).toBe(r.text);
    expect(r.usage.ttftMs).toBeGreaterThan(0);
    expect(r.usage.promptTokens).toBe(await engine().countTokens(hello));
  });

  it("reuses the whole of turn 1 on turn 2 of a conversation", async () => {
    const key = `reuse-${backend}`;
    const t1 = await drain(engine(), { messages: hello, maxTokens: 10, sampling: greedy, sessionKey: key });
    const turn2: EngineMessage[] = [...hello, { role: "assistant", text: t1.text }, { role: "user", text: "Tell me more." }];
    const t2 = await drain(engine(), { messages: turn2, maxTokens: 10, sampling: greedy, sessionKey: key });
    expect(t2.usage.reusedPromptTokens).toBeGreaterThanOrEqual(t1.usage.promptTokens);
    expect(t2.usage.evaluatedPromptTokens).toBe(t2.usage.promptTokens - t2.usage.reusedPromptTokens);
    // The same turn without the cached state evaluates everything.
    const cold = await drain(engine(), { messages: turn2, maxTokens: 10, sampling: greedy });
    expect(cold.usage.reusedPromptTokens).toBe(0);
    expect(cold.text).toBe(t2.text);
  });

  it("aborts within a couple of tokens, keeps the partial text and frees the slot", async () => {
    const controller = new AbortController();
    const started = await drain(
      engine(),
      { messages: hello, maxTokens: 4000, sampling: greedy, signal: controller.signal },
      (_t, n) => n === 3 && controller.abort(),
    );
    expect(started.usage.finishReason).toBe("aborted");
    expect(started.deltas.length).toBeGreaterThanOrEqual(3);
    expect(started.deltas.length).toBeLessThan(10);
    expect(started.usage.text.startsWith(started.deltas.slice(0, 3).join(""))).toBe(true);
    const next = await drain(engine(), { messages: hello, maxTokens: 4, sampling: greedy });
    expect(next.usage.finishReason).toBe("length");
    expect(next.usage.queueMs).toBeLessThan(50);
    expect(engine().status().slotsBusy).toBe(0);
  });

  it("serves two conversations in parallel, each with its own answer", async () => {
    const a: EngineMessage[] = [{ role: "user", text: "First conversation here." }];
    const b: EngineMessage[] = [{ role: "user", text: "Something else entirely!" }];
    const alone = [
      await drain(engine(), { messages: a, maxTokens: 16, sampling: greedy }),
      await drain(engine(), { messages: b, maxTokens: 16, sampling: greedy }),
    ];
    let peakBusy = 0;
    const both = await Promise.all([
      drain(engine(), { messages: a, maxTokens: 16, sampling: greedy, sessionKey: `pa-${backend}` }, () => {
        peakBusy = Math.max(peakBusy, engine().status().slotsBusy);
      }),
      drain(engine(), { messages: b, maxTokens: 16, sampling: greedy, sessionKey: `pb-${backend}` }),
    ]);
    expect(peakBusy).toBe(2);
    expect(both.map((r) => r.text)).toEqual(alone.map((r) => r.text));
    expect(alone[0]!.text).not.toBe(alone[1]!.text);
  });

  it("refuses requests beyond the queue with a typed, retryable error", async () => {
    const small = await loadEngine(model, backend, { slots: 1, queueLimit: 1 });
    try {
      const controller = new AbortController();
      const running = drain(small, { messages: hello, maxTokens: 4000, signal: controller.signal, sampling: greedy });
      const waiting = drain(small, { messages: hello, maxTokens: 2, sampling: greedy });
      await new Promise((r) => setTimeout(r, 20));
      expect(small.status()).toMatchObject({ slotsBusy: 1, queueLength: 1 });
      const refused = drain(small, { messages: hello, maxTokens: 2, sampling: greedy });
      await expect(refused).rejects.toMatchObject({ code: "queue_full", retryAfterSeconds: 5 });
      await expect(refused).rejects.toBeInstanceOf(EngineError);
      controller.abort();
      expect((await running).usage.finishReason).toBe("aborted");
      expect((await waiting).usage.finishReason).toBe("length");
    } finally {
      await small.dispose();
    }
  });
});

describe.each(["llama-node", "llama-server"] as const)("images on %s", (backend) => {
  it("raise the prompt token count by exactly the projector's image tokens", async () => {
    const e = engines[backend]!;
    expect(e.info.imageTokens).toBe(imageTokens);
    const withImage: EngineMessage[] = [{ role: "user", text: "What is this?", images: [IMAGE] }];
    const r = await drain(e, { messages: withImage, maxTokens: 4, sampling: greedy });
    // The image adds its tokens and the newline that separates it from the text.
    const textOnly = await e.countTokens([{ role: "user", text: "\nWhat is this?" }]);
    expect(r.usage.promptTokens).toBe(textOnly + imageTokens);
    const two = await e.countTokens([{ role: "user", text: "What is this?", images: [IMAGE, IMAGE] }]);
    expect(two - (await e.countTokens(withImage))).toBe(imageTokens + 1);
  });

  it("are not re-encoded on the next turn while the conversation is cached", async () => {
    const e = engines[backend]!;
    const turn1: EngineMessage[] = [{ role: "user", text: "Look.", images: [IMAGE] }];
    const t1 = await drain(e, { messages: turn1, maxTokens: 6, sampling: greedy, sessionKey: "img-conv" });
    const turn2: EngineMessage[] = [...turn1, { role: "assistant", text: t1.text }, { role: "user", text: "And now?" }];
    const t2 = await drain(e, { messages: turn2, maxTokens: 6, sampling: greedy, sessionKey: "img-conv" });
    expect(t2.usage.reusedPromptTokens).toBeGreaterThanOrEqual(t1.usage.promptTokens);
  });
});

describe("images", () => {
  it("are refused with a clear error by a text-only backend", async () => {
    const gen = engines["node-llama-cpp"]!.generate({ messages: [{ role: "user", text: "?", images: [IMAGE] }] });
    await expect(gen.next()).rejects.toMatchObject({ code: "no_vision", message: expect.stringMatching(/cannot see images/) });
  });
});

describe("dispose", () => {
  it("leaves no handles: a process that loads, generates and disposes exits by itself", () => {
    const script = path.resolve(import.meta.dirname, "..", "helpers", "engine-lifecycle.ts");
    const res = spawnSync(path.resolve("node_modules/.bin/tsx"), [script], { timeout: 90_000, encoding: "utf8" });
    expect(res.error, res.stderr).toBeUndefined();
    expect(res.status, res.stderr.slice(-2000)).toBe(0);
    expect(res.stdout).toContain("lifecycle ok");
  });
});
