import "server-only";
import type { UIMessageChunk } from "ai";
import { streamingAnswerOrThrow } from "@/lib/db/messages";
import { liveAnswer } from "./live-answers";
import { tailAnswer } from "./tail-answer";

/**
 * The answer being written in one of the user's conversations, from its
 * start and then live: this instance's own stream when it writes it,
 * otherwise the answer's row, followed as its writer (another instance)
 * saves it. Null when no answer is being written; someone else's
 * conversation is *not found*.
 */
export async function resumeAnswerOrThrow({
  conversationId,
  userId,
  signal,
}: {
  conversationId: string;
  userId: string;
  signal: AbortSignal;
}): Promise<ReadableStream<UIMessageChunk> | null> {
  const here = liveAnswer({ conversationId, userId });
  if (here) return here.read();
  const row = await streamingAnswerOrThrow({ conversationId, userId });
  if (!row) return null;
  // Written here after all (its live stream just ended, or is about to start): read it again.
  const again = liveAnswer({ conversationId, userId });
  if (again) return again.read();
  return tailAnswer({
    messageId: row.id,
    metadata: { conversationId, assistantMessageId: row.id, userMessageId: row.parentId ?? undefined, model: row.model },
    signal,
  });
}
