import "server-only";
import { deleteConversationOrThrow } from "@/lib/db/conversations";
import { loadedEngine } from "@/lib/engine/get-engine";
import { removeBlobs } from "@/lib/storage/blob-store";

/**
 * Deletes a conversation, then the image files no attachment refers to any
 * more and the model state cached for it.
 */
export async function deleteConversation({ id, userId }: { id: string; userId: string }): Promise<void> {
  const { orphanedStorageKeys, sessionKeys } = await deleteConversationOrThrow({ id, userId });
  await removeBlobs(orphanedStorageKeys);
  const engine = loadedEngine();
  // Every branch has its own cached state.
  for (const key of sessionKeys) await engine?.forgetSession(key);
}
