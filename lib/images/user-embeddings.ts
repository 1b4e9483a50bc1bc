import "server-only";
import { getUserEmbeddings, type ImageEmbeddings } from "@/lib/db/image-index";

/**
 * Each user's embedding matrix, kept in memory between searches and
 * reloaded after the indexer stores a new vector for them. Vectors of
 * images deleted since stay until then; callers look results up in the
 * database, which skips them.
 */
const globalForCache = globalThis as { __userEmbeddings?: Map<string, { model: string; value: Promise<ImageEmbeddings> }> };
const cache = (globalForCache.__userEmbeddings ??= new Map());

/** The user's indexed embeddings for `model` (cached). */
export function userEmbeddings({ userId, model }: { userId: string; model: string }): Promise<ImageEmbeddings> {
  const hit = cache.get(userId);
  if (hit && hit.model === model) return hit.value;
  const value = getUserEmbeddings({ userId, model });
  cache.set(userId, { model, value });
  value.catch(() => cache.delete(userId));
  return value;
}

/** Drops the user's cached matrix (a vector was added or changed). */
export function embeddingsChanged(userId: string): void {
  cache.delete(userId);
}
