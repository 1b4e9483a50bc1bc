import "server-only";
import type { UIMessageChunk } from "ai";
import { readAnswer } from "@/lib/db/messages";
import { SERVER_STOP_MESSAGES } from "./answers-in-flight";
import { answerStats, type ChatAnswerMetadata } from "./ui-message";

/** How often the answer's row is read (milliseconds); its writer saves it every second (FLUSH_MS). */
const POLL_MS = 250;

/**
 * An answer another instance is writing, as a UI message stream read from its
 * row: what is saved so far, then each addition as the writer saves it, until
 * the row is no longer `streaming` (then its final state), it is gone, or the
 * reader leaves. Nothing is generated here.
 */
export function tailAnswer({
  messageId,
  metadata,
  signal,
}: {
  messageId: string;
  /** What the answer's first chunk says about it (its conversation, question and model). */
  metadata: ChatAnswerMetadata;
  signal: AbortSignal;
}): ReadableStream<UIMessageChunk> {
  let cancelled = false;
  return new ReadableStream<UIMessageChunk>({
    async start(controller) {
      controller.enqueue({ type: "start", messageId, messageMetadata: metadata });
      controller.enqueue({ type: "text-start", id: "0" });
      let sent = "";
      for (;;) {
        if (cancelled || signal.aborted) return;
        const row = await readAnswer(messageId).catch(() => undefined);
        if (row === undefined) {
          await sleep(POLL_MS);
          continue;
        }
        if (row === null) {
          controller.enqueue({ type: "error", errorText: SERVER_STOP_MESSAGES.deleted });
          controller.close();
          return;
        }
        // The text only grows while it is written.
        if (row.text.length > sent.length && row.text.startsWith(sent)) {
          controller.enqueue({ type: "text-delta", id: "0", delta: row.text.slice(sent.length) });
          sent = row.text;
        }
        if (row.status !== "streaming") {
          controller.enqueue({ type: "text-end", id: "0" });
          if (row.status === "error") controller.enqueue({ type: "error", errorText: row.error ?? "The model failed while answering." });
          const stats = answerStats(row);
          controller.enqueue({
            type: "finish",
            messageMetadata: { ...metadata, status: row.status, error: row.error, finishReason: row.finishReason, stats } satisfies ChatAnswerMetadata,
          });
          controller.close();
          return;
        }
        await sleep(POLL_MS);
      }
    },
    cancel() {
      cancelled = true;
    },
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
