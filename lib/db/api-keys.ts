import "server-only";
import { AppError } from "@/lib/errors";
import { db } from "./client";

/** What a user sees of a key: never the secret, never its hash. */
export interface ApiKeyRecord {
  id: string;
  name: string;
  prefix: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
}

const select = { id: true, name: true, prefix: true, createdAt: true, expiresAt: true, lastUsedAt: true } as const;

export function createApiKey(data: { userId: string; name: string; prefix: string; hash: string; expiresAt: Date | null }): Promise<ApiKeyRecord> {
  return db.apiKey.create({ data, select });
}

/** The user's keys that are not revoked, newest first (expired ones included, marked by their date). */
export function listApiKeys({ userId }: { userId: string }): Promise<ApiKeyRecord[]> {
  return db.apiKey.findMany({ where: { userId, revokedAt: null }, orderBy: { createdAt: "desc" }, select });
}

/** Revokes one of the user's keys; another user's key id is "not found". */
export async function revokeApiKeyOrThrow({ id, userId }: { id: string; userId: string }): Promise<void> {
  const { count } = await db.apiKey.updateMany({ where: { id, userId, revokedAt: null }, data: { revokedAt: new Date() } });
  if (count === 0) throw new AppError("not_found:api_key", "No such API key.");
}

/** The key with this secret hash, if it exists at all (callers check revocation and expiry). */
export function findApiKeyByHash({ hash }: { hash: string }) {
  return db.apiKey.findUnique({ where: { hash }, select: { id: true, userId: true, expiresAt: true, revokedAt: true, lastUsedAt: true } });
}

export async function touchApiKey({ id }: { id: string }): Promise<void> {
  await db.apiKey.update({ where: { id }, data: { lastUsedAt: new Date() } });
}
