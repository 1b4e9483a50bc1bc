import "server-only";
import { getUserEmbeddings, userEmbeddingsVersion, type ImageEmbeddings } from "@/lib/db/image-index";

/**
 * Each user's embedding matrix, kept in memory between searches. Each search
 * first reads a fingerprint of the user's indexed rows (count and newest),
 * and the matrix is reloaded when it changed: when this process's indexer
 * stored a vector, and equally when another instance sharing the database
 * did. Vectors of images deleted since stay until then; callers look
 * results up in the database, which skips them.
 */
const globalForCache = globalThis as {
  __userEmbeddings?: Map<string, { model: string; version: string; value: Promise<ImageEmbeddings> }>;
};
const cache = (globalForCache.__userEmbeddings ??= new Map());

/** The user's indexed embeddings for `model` (cached while unchanged). */
export async function userEmbeddings({ userId, model }: { userId: string; model: string }): Promise<ImageEmbeddings> {
  const version = await userEmbeddingsVersion({ userId, model });
  const hit = cache.get(userId);
  if (hit && hit.model === model && hit.version === version) return hit.value;
  const value = getUserEmbeddings({ userId, model });
  cache.set(userId, { model, version, value });
  value.catch(() => cache.delete(userId));
  return value;
}

/** Drops the user's cached matrix (a vector was added or changed). */
export function embeddingsChanged(userId: string): void {
  cache.delete(userId);
}
