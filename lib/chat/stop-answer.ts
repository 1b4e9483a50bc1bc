import "server-only";
import { answerStatus, requestStopOrThrow } from "@/lib/db/messages";
import { liveAnswer } from "./live-answers";

/** Longest wait for the stopped answer to be saved (milliseconds). */
const SAVED_WITHIN_MS = 5000;

/**
 * Stop, pressed in any tab: stops the answer being written in one of the
 * user's conversations, here or (through its row, see `flushAnswer`) on the
 * instance writing it, and waits until it is saved as stopped (at most 5 s).
 * Returns whether an answer was being written; someone else's conversation
 * is *not found*.
 */
export async function stopAnswer({ conversationId, userId }: { conversationId: string; userId: string }): Promise<{ stopped: boolean }> {
  const here = liveAnswer({ conversationId, userId });
  let messageId: string;
  if (here) {
    here.stop();
    messageId = here.messageId;
  } else {
    const row = await requestStopOrThrow({ conversationId, userId });
    if (!row) return { stopped: false };
    messageId = row.id;
    // Its writer may be this instance after all (the row was written just before its live stream began).
    liveAnswer({ conversationId, userId })?.stop();
  }
  for (const deadline = Date.now() + SAVED_WITHIN_MS; Date.now() < deadline; ) {
    if ((await answerStatus(messageId)) !== "streaming") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { stopped: true };
}
