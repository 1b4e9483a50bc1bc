import { describe, expect, it } from "vitest";
import { completionEvents, type CompletionEvent } from "@/lib/openai/completion-events";

// The reader of createChatCompletion's SSE that /v1/responses and /ollama translate from.

const sse = (frames: unknown[], done = true) => frames.map((f) => `data: ${JSON.stringify(f)}\n\n`).join("") + (done ? "data: [DONE]\n\n" : "");

/** A body that hands out `text` in pieces of `size` bytes, and says whether it was cancelled. */
function body(text: string, size = 7) {
  const bytes = new TextEncoder().encode(text);
  const state = { cancelled: false };
  let at = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.slice(at, (at += size)));
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { stream, state };
}

const drain = async (s: ReadableStream<Uint8Array>) => {
  const out: CompletionEvent[] = [];
  for await (const e of completionEvents(s)) out.push(e);
  return out;
};

describe("completionEvents", () => {
  it("reads text, tool-call pieces, the finish and usage across split frames, up to [DONE]", async () => {
    const usage = { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7, prompt_tokens_details: { cached_tokens: 0 } };
    const { stream } = body(
      sse([
        { choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] },
        { choices: [{ index: 0, delta: { content: "Hé" }, finish_reason: null }] },
        { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: "" } }] }, finish_reason: null }] },
        { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"a":1}' } }] }, finish_reason: null }] },
        { choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] },
        { choices: [], usage },
      ]),
    );
    expect(await drain(stream)).toEqual([
      { type: "text", text: "Hé" },
      { type: "tool_call", index: 0, id: "call_1", name: "f", arguments: "" },
      { type: "tool_call", index: 0, id: undefined, name: undefined, arguments: '{"a":1}' },
      { type: "finish", reason: "tool_calls" },
      { type: "usage", usage },
    ]);
  });

  it("turns an in-band error into an error event, and a body cut before [DONE] into one too", async () => {
    expect(await drain(body(sse([{ error: { message: "llama-server exited", type: "server_error", param: null, code: "engine_error" } }])).stream)).toEqual([
      { type: "error", message: "llama-server exited", code: "engine_error" },
    ]);
    expect(await drain(body(sse([{ choices: [{ index: 0, delta: { content: "T" }, finish_reason: null }] }], false)).stream)).toEqual([
      { type: "text", text: "T" },
      { type: "error", message: "The answer ended early.", code: "engine_error" },
    ]);
  });

  it("cancels the body (which stops the generation) when the consumer leaves early", async () => {
    const { stream, state } = body(sse([{ choices: [{ index: 0, delta: { content: "a" }, finish_reason: null }] }, { choices: [{ index: 0, delta: { content: "b" }, finish_reason: null }] }]));
    const events = completionEvents(stream);
    expect((await events.next()).value).toEqual({ type: "text", text: "a" });
    await events.return(undefined);
    expect(state.cancelled).toBe(true);
  });
});
