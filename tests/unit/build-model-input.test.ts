import { describe, expect, it } from "vitest";
import { buildModelInput } from "@/lib/chat/build-model-input";
import type { Engine } from "@/lib/engine/engine";
import type { EngineMessage } from "@/lib/engine/types";

// The context budget: where the prompt is cut must be what dropping one
// whole turn at a time (the old loop) gave, found with a few counts however
// long the conversation.

/** A stand-in engine: each message costs 4 template tokens plus one per character. */
function fakeEngine(contextSize: number) {
  const counts: number[] = [];
  const engine = {
    info: { contextSize },
    countTokens: async (messages: EngineMessage[]) => {
      counts.push(messages.length);
      return messages.reduce((n, m) => n + 4 + m.text.length + (m.images?.length ?? 0) * 16, 0);
    },
  } as unknown as Engine;
  return { engine, counts };
}

/** The old algorithm: drop the oldest turn (question and its answer) until it fits. */
async function linearStart(engine: Engine, history: EngineMessage[], budget: number, system: EngineMessage[]) {
  let start = 0;
  let tokens = await engine.countTokens([...system, ...history]);
  while (tokens > budget && start < history.length - 1) {
    start += history[start]?.role === "user" && history[start + 1]?.role === "assistant" && start + 1 < history.length - 1 ? 2 : 1;
    tokens = await engine.countTokens([...system, ...history.slice(start)]);
  }
  return { start, tokens };
}

function randomHistory(seed: number, n: number): EngineMessage[] {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const out: EngineMessage[] = [];
  for (let i = 0; i < n; i++) {
    // Mostly question/answer pairs, sometimes two questions in a row (an answer that failed is left out).
    const role = i === n - 1 ? "user" : out.at(-1)?.role === "user" && rand() < 0.85 ? "assistant" : "user";
    out.push({ role, text: "x".repeat(Math.floor(rand() * 120)), images: role === "user" && rand() < 0.2 ? ["a.png"] : undefined });
  }
  return out;
}

describe("buildModelInput", () => {
  it("cuts where dropping a turn at a time did, on 200 random conversations", async () => {
    for (let seed = 1; seed <= 200; seed++) {
      const history = randomHistory(seed, 1 + (seed % 60));
      const systemPrompt = seed % 3 ? "Be brief." : null;
      const { engine } = fakeEngine(1024);
      const system: EngineMessage[] = systemPrompt ? [{ role: "system", text: systemPrompt }] : [];
      const want = await linearStart(engine, history, 1024 - 256, system);
      if (want.tokens > 1024 - 256) {
        await expect(buildModelInput({ engine, systemPrompt, history, answerTokens: 256 })).rejects.toThrow(/needs \d+ tokens/);
        continue;
      }
      const got = await buildModelInput({ engine, systemPrompt, history, answerTokens: 256 });
      expect({ seed, dropped: got.dropped, tokens: got.promptTokens }).toEqual({ seed, dropped: want.start, tokens: want.tokens });
    }
  });

  it("counts a bounded prompt a few times for a 20 000-message conversation", async () => {
    const history = randomHistory(7, 20_001);
    const { engine, counts } = fakeEngine(2048);
    const got = await buildModelInput({ engine, systemPrompt: null, history, answerTokens: 1024 });
    expect(got.dropped).toBeGreaterThan(19_900);
    // Before: one count of the whole remaining history per dropped turn (about 10 000 counts of up to 20 000 messages).
    expect(counts.length).toBeLessThan(20);
    expect(Math.max(...counts)).toBeLessThanOrEqual(1024);
  });

  it("stops between counts when the client left", async () => {
    const { engine } = fakeEngine(2048);
    const controller = new AbortController();
    controller.abort();
    await expect(buildModelInput({ engine, systemPrompt: null, history: randomHistory(3, 5000), answerTokens: 1024, signal: controller.signal })).rejects.toThrow(/cancelled/);
  });
});
