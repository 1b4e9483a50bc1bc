import "server-only";
import { deleteConversationOrThrow } from "@/lib/db/conversations";
import { loadedEngine } from "@/lib/engine/get-engine";
import { removeBlobs } from "@/lib/storage/blob-store";
import { stopConversationAnswers } from "./answers-in-flight";

/**
 * Deletes a conversation, stops any answer being written for it (its slot is
 * free at once; the answer's last save finds no row and re-creates nothing),
 * then removes the image files no attachment refers to any more and the
 * model state cached for it.
 */
export async function deleteConversation({ id, userId }: { id: string; userId: string }): Promise<void> {
  // Ownership is checked by the delete: only then is the answer stopped.
  const { orphanedStorageKeys, sessionKeys } = await deleteConversationOrThrow({ id, userId });
  stopConversationAnswers({ conversationId: id });
  await removeBlobs(orphanedStorageKeys);
  const engine = loadedEngine();
  // Every branch has its own cached state.
  for (const key of sessionKeys) await engine?.forgetSession(key);
}
