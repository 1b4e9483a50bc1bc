import "server-only";
import { deleteMessageBranchOrThrow, messageBranchOrThrow } from "@/lib/db/messages";
import { stopMessageAnswers } from "./answers-in-flight";

/** Longest wait for an answer being deleted to stop (milliseconds). */
const STOP_WITHIN_MS = 3000;

/**
 * Deletes a message of one of the user's conversations with its branch (the
 * messages below it), after stopping an answer being written there: here at
 * once; on another instance, its next save finds the row gone and stops.
 * Someone else's message is *not found*.
 */
export async function deleteMessage({ conversationId, userId, messageId }: { conversationId: string; userId: string; messageId: string }): Promise<void> {
  const { streaming } = await messageBranchOrThrow({ conversationId, userId, messageId });
  if (streaming.length) await stopMessageAnswers({ messageIds: streaming, timeoutMs: STOP_WITHIN_MS });
  await deleteMessageBranchOrThrow({ conversationId, userId, messageId });
}
