import { z } from "zod";
import { readSseData } from "@/lib/engine/sse";

/**
 * What a streamed chat completion (`createChatCompletion` with `stream: true`)
 * says, as events other APIs translate from: the Responses API and Ollama's
 * API are both built on chat completions and read its stream through this.
 */
export type CompletionEvent =
  | { type: "text"; text: string }
  /** A piece of a tool call: the first piece of call `index` carries its id and name. */
  | { type: "tool_call"; index: number; id?: string; name?: string; arguments: string }
  | { type: "finish"; reason: string }
  | { type: "usage"; usage: CompletionUsage }
  | { type: "error"; message: string; code: string | null };

export type CompletionUsage = z.infer<typeof usageSchema>;

const usageSchema = z.object({
  prompt_tokens: z.number(),
  completion_tokens: z.number(),
  total_tokens: z.number(),
  prompt_tokens_details: z.object({ cached_tokens: z.number().nullish() }).nullish(),
});

const chunkSchema = z.object({
  choices: z
    .array(
      z.object({
        delta: z
          .object({
            content: z.string().nullish(),
            tool_calls: z
              .array(
                z.object({
                  index: z.number().int(),
                  id: z.string().nullish(),
                  function: z.object({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
                }),
              )
              .nullish(),
          })
          .nullish(),
        finish_reason: z.string().nullish(),
      }),
    )
    .default([]),
  usage: usageSchema.nullish(),
  error: z.object({ message: z.string(), code: z.string().nullish() }).nullish(),
});

/**
 * The events of one chat-completion SSE body, as they arrive (nothing is
 * held back). Stops at `[DONE]`; a body that ends without it ends with an
 * error event, so a cut-off answer is never mistaken for a whole one.
 */
export async function* completionEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<CompletionEvent> {
  // readSseData cancels the body when this generator is left early, which stops the generation.
  for await (const data of readSseData(body)) {
    if (data === "[DONE]") return;
    yield* eventsOf(chunkSchema.parse(JSON.parse(data)));
  }
  yield { type: "error", message: "The answer ended early.", code: "engine_error" };
}

function* eventsOf(chunk: z.infer<typeof chunkSchema>): Generator<CompletionEvent> {
  if (chunk.error) {
    yield { type: "error", message: chunk.error.message, code: chunk.error.code ?? null };
    return;
  }
  for (const choice of chunk.choices) {
    if (choice.delta?.content) yield { type: "text", text: choice.delta.content };
    for (const call of choice.delta?.tool_calls ?? []) {
      yield { type: "tool_call", index: call.index, id: call.id ?? undefined, name: call.function?.name ?? undefined, arguments: call.function?.arguments ?? "" };
    }
    if (choice.finish_reason) yield { type: "finish", reason: choice.finish_reason };
  }
  if (chunk.usage) yield { type: "usage", usage: chunk.usage };
}
