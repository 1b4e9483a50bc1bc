import "server-only";
import { storageKeysInUse } from "@/lib/db/attachments";
import { deleteConversationOrThrow } from "@/lib/db/conversations";
import { loadedEngine } from "@/lib/engine/get-engine";
import { removeBlobs } from "@/lib/storage/blob-store";
import { stopConversationAnswers } from "./answers-in-flight";

/**
 * Stops any answer being written for a conversation (its slot is free at
 * once; the answer's last save finds no row and re-creates nothing), deletes
 * the conversation, then removes the image files no attachment refers to any
 * more and the model state cached for it.
 */
export async function deleteConversation({ id, userId }: { id: string; userId: string }): Promise<void> {
  // First, without waiting for the database: the model writes hundreds of
  // tokens while the delete runs. Only the owner's own answers match.
  stopConversationAnswers({ conversationId: id, userId });
  const { orphanedStorageKeys, sessionKeys } = await deleteConversationOrThrow({ id, userId });
  await removeBlobs(orphanedStorageKeys, { stillUsed: storageKeysInUse });
  const engine = loadedEngine();
  // Every branch has its own cached state.
  for (const key of sessionKeys) await engine?.forgetSession(key);
}
