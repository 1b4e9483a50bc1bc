import { pathToFileURL } from "node:url";
import { generateText, streamText } from "ai";
import { describe, expect, it } from "vitest";
import { engineModel, toEngineMessages } from "@/lib/ai/provider";
import type { Engine } from "@/lib/engine/engine";
import type { GenerateEvent, GenerateRequest } from "@/lib/engine/types";

/** A deterministic stand-in for the engine (the real one is tested in integration). */
function fakeEngine(words: string[], { delayMs = 0 } = {}) {
  const seen: { req?: GenerateRequest; returned: boolean } = { returned: false };
  const engine = {
    model: { id: "fake" },
    async *generate(req: GenerateRequest): AsyncGenerator<GenerateEvent> {
      seen.req = req;
      try {
        let text = "";
        for (const w of words) {
          if (req.signal?.aborted) break;
          if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
          text += w;
          yield { type: "delta", text: w };
        }
        yield {
          type: "done",
          usage: { promptTokens: 10, reusedPromptTokens: 4, evaluatedPromptTokens: 6, completionTokens: words.length, ttftMs: 5, tokensPerSecond: 100, queueMs: 0, finishReason: "stop", text },
        };
      } finally {
        seen.returned = true;
      }
    },
  } as unknown as Engine;
  return { engine, seen };
}

describe("engineModel (AI SDK provider)", () => {
  it("streams through streamText with usage, cache reads and local metadata", async () => {
    const { engine, seen } = fakeEngine(["The ", "circle ", "is ", "red."]);
    const result = streamText({
      model: engineModel(engine, { sessionKey: "conv-1" }),
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: [{ type: "file", data: pathToFileURL("/data/uploads/a.png"), mediaType: "image/png" }, { type: "text", text: "Colour?" }] },
      ],
      temperature: 0,
      maxOutputTokens: 7,
    });
    const chunks: string[] = [];
    for await (const part of result.fullStream) chunks.push(part.type === "text-delta" ? `delta:${part.text}` : part.type);
    expect(chunks.filter((c) => c.startsWith("delta:")).join("|")).toBe("delta:The |delta:circle |delta:is |delta:red.");
    expect(await result.text).toBe("The circle is red.");
    const usage = await result.totalUsage;
    expect(usage).toMatchObject({ inputTokens: 10, outputTokens: 4 });
    expect(usage.inputTokenDetails?.cacheReadTokens).toBe(4);
    expect((await result.providerMetadata)?.local).toMatchObject({ ttftMs: 5, tokensPerSecond: 100, finishReason: "stop" });
    expect(seen.req).toMatchObject({
      sessionKey: "conv-1",
      maxTokens: 7,
      sampling: { temperature: 0 },
      messages: [
        { role: "system", text: "Be brief." },
        { role: "user", text: "Colour?", images: ["/data/uploads/a.png"] },
      ],
    });
  });

  it("stops the engine when the consumer stops reading", async () => {
    const { engine, seen } = fakeEngine(Array.from({ length: 200 }, (_, i) => `w${i} `), { delayMs: 2 });
    const controller = new AbortController();
    const result = streamText({ model: engineModel(engine), prompt: "go", abortSignal: controller.signal });
    let n = 0;
    for await (const part of result.textStream) {
      void part;
      if (++n === 3) controller.abort();
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(n).toBeLessThan(10);
    expect(seen.req?.signal?.aborted).toBe(true);
    expect(seen.returned).toBe(true);
  });

  it("also answers generateText, with the same usage", async () => {
    const { engine } = fakeEngine(["Hello", " there."]);
    const result = await generateText({ model: engineModel(engine), prompt: "hi" });
    expect(result.text).toBe("Hello there.");
    expect(result.usage).toMatchObject({ inputTokens: 10, outputTokens: 2 });
  });

  it("refuses images that are not stored files", () => {
    expect(() =>
      toEngineMessages([{ role: "user", content: [{ type: "file", data: new URL("https://example.com/x.png"), mediaType: "image/png" }] }]),
    ).toThrow(/stored files/);
  });
});
