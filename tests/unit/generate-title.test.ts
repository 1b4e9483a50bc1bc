import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Engine } from "@/lib/engine/engine";
import type { GenerateEvent, GenerateRequest } from "@/lib/engine/types";

const saved = vi.hoisted(() => ({ titles: [] as { id: string; title: string }[], userRenamed: new Set<string>() }));
vi.mock("@/lib/db/conversations", () => ({
  setGeneratedTitle: async ({ id, title }: { id: string; title: string }) => {
    if (saved.userRenamed.has(id)) return false;
    saved.titles.push({ id, title });
    return true;
  },
}));
const { generateTitle } = await import("@/lib/chat/generate-title");

type Status = { slotsBusy: number; queueLength: number };

/**
 * An engine stand-in that writes `text` one character per token (cut at
 * maxTokens), `delayMs` apart, stopping early when its signal aborts.
 * `status(n)` answers the n-th status check (default: idle).
 */
function fakeEngine(text: string, { delayMs = 0, status = (_n: number): Status => ({ slotsBusy: 0, queueLength: 0 }) } = {}) {
  const calls: { req: GenerateRequest; statusChecks: number; startedAt: number; aborted?: boolean }[] = [];
  let statusChecks = 0;
  const engine = {
    model: { id: "fake" },
    status: () => {
      const s = status(++statusChecks);
      return { ...s, slotsFree: 1 - s.slotsBusy };
    },
    async *generate(req: GenerateRequest): AsyncGenerator<GenerateEvent> {
      const call: (typeof calls)[number] = { req, statusChecks, startedAt: Date.now() };
      calls.push(call);
      let out = "";
      for (const ch of text.slice(0, req.maxTokens)) {
        if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
        if (req.signal?.aborted) break;
        out += ch;
        yield { type: "delta", text: ch };
      }
      call.aborted = req.signal?.aborted ?? false;
      const finishReason = call.aborted ? "aborted" : out.length < text.length ? "length" : "stop";
      yield {
        type: "done",
        usage: { promptTokens: 1, reusedPromptTokens: 0, evaluatedPromptTokens: 1, completionTokens: out.length, ttftMs: 1, tokensPerSecond: 1, queueMs: 0, finishReason, text: out },
      };
    },
  } as unknown as Engine;
  return { engine, calls };
}

const question = [{ type: "text" as const, text: "What color is the circle?" }];
const busy: Status = { slotsBusy: 1, queueLength: 1 };
const idle: Status = { slotsBusy: 0, queueLength: 0 };

describe("generateTitle", () => {
  beforeEach(() => {
    saved.titles = [];
    saved.userRenamed.clear();
  });

  it("waits for an idle engine, then writes at most 16 tokens at temperature 0 without a session", async () => {
    const { engine, calls } = fakeEngine('"Red circle."', { status: (n) => (n <= 3 ? busy : idle) });
    expect(await generateTitle({ engine, conversationId: "c1", question, answer: "The circle is red.", quietMs: 0 })).toBe("Red circle");
    expect(calls).toHaveLength(1);
    expect(calls[0]!.statusChecks).toBe(4); // not while the three answers ran
    expect(calls[0]!.req).toMatchObject({ maxTokens: 16, sampling: { temperature: 0 } });
    expect(calls[0]!.req.sessionKey).toBeUndefined();
    expect(calls[0]!.req.messages.at(-1)!.text).toContain("What color is the circle?");
    expect(calls[0]!.req.messages.at(-1)!.text).toContain("The circle is red.");
    expect(saved.titles).toEqual([{ id: "c1", title: "Red circle" }]);
  });

  it("starts only after the engine has been idle for quietMs", async () => {
    const began = Date.now();
    // Idle, busy again (a follow-up question), then idle for good.
    const { engine, calls } = fakeEngine("Red circle", { status: (n) => (n === 2 ? busy : idle) });
    await generateTitle({ engine, conversationId: "c1", question, answer: "Red.", quietMs: 300 });
    // The quiet period restarted after the busy check (~100 ms in).
    expect(calls[0]!.startedAt - began).toBeGreaterThanOrEqual(380);
  });

  it("stops for an answer that comes to wait for the slot, and writes the title once it is idle again", async () => {
    let waiting = false;
    const { engine, calls } = fakeEngine("Red circle", { delayMs: 40, status: () => (waiting ? { slotsBusy: 1, queueLength: 1 } : idle) });
    // An answer queues while the first try is writing, and is done 300 ms later.
    setTimeout(() => (waiting = true), 150);
    setTimeout(() => (waiting = false), 450);
    expect(await generateTitle({ engine, conversationId: "c7", question, answer: "Red.", quietMs: 0 })).toBe("Red circle");
    expect(calls).toHaveLength(2);
    expect(calls[0]!.aborted).toBe(true);
    expect(calls[1]!.startedAt).toBeGreaterThanOrEqual(calls[0]!.startedAt + 400);
    expect(saved.titles).toEqual([{ id: "c7", title: "Red circle" }]);
  });

  it("drops the unfinished last word when the token cap cut the title off", async () => {
    const { engine } = fakeEngine("The red shape is a circle");
    expect(await generateTitle({ engine, conversationId: "c2", question, answer: "Red.", quietMs: 0 })).toBe("The red shape");
  });

  it("keeps the current title when the model writes nothing usable or the user renamed it", async () => {
    expect(await generateTitle({ engine: fakeEngine("  ...  ").engine, conversationId: "c3", question, answer: "Red.", quietMs: 0 })).toBeNull();
    saved.userRenamed.add("c4");
    expect(await generateTitle({ engine: fakeEngine("Red circle").engine, conversationId: "c4", question, answer: "Red.", quietMs: 0 })).toBeNull();
    expect(saved.titles).toEqual([]);
  });

  it("never rejects: a failing engine leaves the title alone", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const engine = {
      model: { id: "fake" },
      status: () => ({ slotsBusy: 0, slotsFree: 1, queueLength: 0 }),
      async *generate(): AsyncGenerator<GenerateEvent> {
        throw new Error("model crashed");
      },
    } as unknown as Engine;
    expect(await generateTitle({ engine, conversationId: "c5", question, answer: "Red.", quietMs: 0 })).toBeNull();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining("model crashed"));
    // The queue is not stuck behind the failure.
    expect(await generateTitle({ engine: fakeEngine("Red circle").engine, conversationId: "c6", question, answer: "Red.", quietMs: 0 })).toBe("Red circle");
    warn.mockRestore();
  });
});
