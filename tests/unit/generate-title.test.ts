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

/** An engine stand-in: busy for the first `busyChecks` status calls, then writes `text` (cut at `maxTokens` characters). */
function fakeEngine(text: string, { busyChecks = 0 } = {}) {
  const calls: { req: GenerateRequest; statusChecks: number }[] = [];
  let statusChecks = 0;
  const engine = {
    model: { id: "fake" },
    status: () => {
      statusChecks++;
      const busy = statusChecks <= busyChecks;
      return { slotsBusy: busy ? 1 : 0, slotsFree: busy ? 0 : 1, queueLength: busy ? 1 : 0 };
    },
    async *generate(req: GenerateRequest): AsyncGenerator<GenerateEvent> {
      calls.push({ req, statusChecks });
      const out = text.slice(0, req.maxTokens);
      yield { type: "delta", text: out };
      const finishReason = out.length < text.length ? "length" : "stop";
      yield {
        type: "done",
        usage: { promptTokens: 1, reusedPromptTokens: 0, evaluatedPromptTokens: 1, completionTokens: out.length, ttftMs: 1, tokensPerSecond: 1, queueMs: 0, finishReason, text: out },
      };
    },
  } as unknown as Engine;
  return { engine, calls };
}

const question = [{ type: "text" as const, text: "What color is the circle?" }];

describe("generateTitle", () => {
  beforeEach(() => {
    saved.titles = [];
    saved.userRenamed.clear();
  });

  it("waits for an idle engine, then writes at most 16 tokens at temperature 0 without a session", async () => {
    const { engine, calls } = fakeEngine('"Red circle."', { busyChecks: 3 });
    expect(await generateTitle({ engine, conversationId: "c1", question, answer: "The circle is red." })).toBe("Red circle");
    expect(calls).toHaveLength(1);
    expect(calls[0]!.statusChecks).toBe(4); // three busy answers first
    expect(calls[0]!.req).toMatchObject({ maxTokens: 16, sampling: { temperature: 0 } });
    expect(calls[0]!.req.sessionKey).toBeUndefined();
    expect(calls[0]!.req.messages.at(-1)!.text).toContain("What color is the circle?");
    expect(calls[0]!.req.messages.at(-1)!.text).toContain("The circle is red.");
    expect(saved.titles).toEqual([{ id: "c1", title: "Red circle" }]);
  });

  it("drops the unfinished last word when the token cap cut the title off", async () => {
    const { engine } = fakeEngine("The red shape is a circle");
    expect(await generateTitle({ engine, conversationId: "c2", question, answer: "Red." })).toBe("The red shape");
  });

  it("keeps the current title when the model writes nothing usable or the user renamed it", async () => {
    expect(await generateTitle({ engine: fakeEngine("  ...  ").engine, conversationId: "c3", question, answer: "Red." })).toBeNull();
    saved.userRenamed.add("c4");
    expect(await generateTitle({ engine: fakeEngine("Red circle").engine, conversationId: "c4", question, answer: "Red." })).toBeNull();
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
    expect(await generateTitle({ engine, conversationId: "c5", question, answer: "Red." })).toBeNull();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining("model crashed"));
    // The queue is not stuck behind the failure.
    expect(await generateTitle({ engine: fakeEngine("Red circle").engine, conversationId: "c6", question, answer: "Red." })).toBe("Red circle");
    warn.mockRestore();
  });
});
