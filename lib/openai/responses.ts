import "server-only";
import { createChatCompletion, type KeyUsage } from "./chat-completions";
import { completionEvents } from "./completion-events";
import { OpenAiError } from "./errors";
import { ResponseAssembler, type ResponsesEvent } from "./responses-assembler";
import { responsesToChatRequest } from "./responses-request";
import type { ResponsesRequest } from "./responses-schema";
import { chatCompletionRequestSchema } from "./schema";
import { translatedError } from "./translated-error";

/**
 * `POST /v1/responses` for one user (the API key's owner), answered by
 * `createChatCompletion`: the request becomes a streamed chat completion,
 * whose chunks become the Responses API's events as they arrive (streaming),
 * or its final response object (`stream` false). Stateless: nothing is kept
 * for later requests, and `store: true` saves the exchange into the key
 * owner's history exactly as chat completions' `store` does.
 */
export async function createResponse({
  userId,
  req,
  signal,
  onUsage,
}: {
  userId: string;
  req: ResponsesRequest;
  signal: AbortSignal;
  /** Told once per answer, when it ends: what it cost, for per-key accounting (see createChatCompletion). */
  onUsage?: (usage: KeyUsage) => void | Promise<void>;
}): Promise<Response> {
  const { chat, paramFor } = responsesToChatRequest(req);
  let answer: Response;
  try {
    answer = await createChatCompletion({ userId, req: chatCompletionRequestSchema.parse(chat), signal, onUsage });
  } catch (err) {
    throw translatedError(err, paramFor);
  }
  const assembler = new ResponseAssembler(req, String((chat as { model: string }).model));
  const events = completionEvents(answer.body!);

  if (!req.stream) {
    for await (const ev of events) assembler.push(ev);
    assembler.end();
    const response = assembler.snapshot();
    if (response.status === "failed") throw new OpenAiError(503, response.error?.message ?? "The model failed while answering.", null, "engine_error", 5);
    return Response.json(response, { headers: { "cache-control": "no-store" } });
  }

  const encoder = new TextEncoder();
  const frames = (list: ResponsesEvent[]) => encoder.encode(list.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join(""));
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(frames(assembler.start()));
    },
    // Pulled one chunk at a time: a slow client holds the generation back, a gone one stops it (cancel).
    async pull(controller) {
      try {
        // A pull must enqueue something (or close): the stream does not ask again after an empty one.
        for (;;) {
          const next = await events.next();
          if (next.done) {
            controller.enqueue(frames(assembler.end()));
            controller.close();
            return;
          }
          const out = assembler.push(next.value);
          if (out.length) return controller.enqueue(frames(out));
        }
      } catch (err) {
        console.error("[v1/responses] stream failed:", err);
        assembler.push({ type: "error", message: "The model failed while answering.", code: "engine_error" });
        controller.enqueue(frames(assembler.end()));
        controller.close();
      }
    },
    async cancel() {
      await events.return(undefined);
    },
  });
  return new Response(body, {
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store, no-transform", connection: "keep-alive", "x-accel-buffering": "no" },
  });
}
