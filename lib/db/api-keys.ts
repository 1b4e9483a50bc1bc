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
  /** The most tokens (prompt + completion) the key may spend per minute; null = no cap. */
  tokensPerMinute: number | null;
}

/** What a key spent over some UTC days. */
export interface UsageTotals {
  promptTokens: number;
  completionTokens: number;
  /** Media parts sent (images, audio clips, videos, files). */
  images: number;
  /** Answered requests. */
  requests: number;
}

/** One UTC day of a key's usage ("YYYY-MM-DD"). */
export interface DayUsage extends UsageTotals {
  day: string;
}

/** A key as listed in Settings: the record and what it spent today and in the last 7 UTC days (today included). */
export interface ApiKeyWithUsage extends ApiKeyRecord {
  usage: { today: UsageTotals; last7Days: UsageTotals; days: DayUsage[] };
}

const select = { id: true, name: true, prefix: true, createdAt: true, expiresAt: true, lastUsedAt: true, tokensPerMinute: true } as const;

/** Days of usage shown per key, today included. */
const USAGE_DAYS = 7;

/** The UTC day of `at` as stored in ApiKeyUsage.day. */
export const usageDay = (at: Date = new Date()) => at.toISOString().slice(0, 10);

const zero = (): UsageTotals => ({ promptTokens: 0, completionTokens: 0, images: 0, requests: 0 });

export function createApiKey(data: { userId: string; name: string; prefix: string; hash: string; expiresAt: Date | null; tokensPerMinute: number | null }): Promise<ApiKeyRecord> {
  return db.apiKey.create({ data, select });
}

/** Adds each key's usage of the last {@link USAGE_DAYS} UTC days (one query for all of them). */
async function withUsage(keys: ApiKeyRecord[], now = new Date()): Promise<ApiKeyWithUsage[]> {
  const today = usageDay(now);
  const first = usageDay(new Date(now.getTime() - (USAGE_DAYS - 1) * 86_400_000));
  const rows = keys.length
    ? await db.apiKeyUsage.findMany({ where: { keyId: { in: keys.map((k) => k.id) }, day: { gte: first } }, orderBy: { day: "desc" } })
    : [];
  return keys.map((key) => {
    const days = rows.filter((r) => r.keyId === key.id).map(({ day, promptTokens, completionTokens, images, requests }) => ({ day, promptTokens, completionTokens, images, requests }));
    const last7Days = zero();
    for (const d of days) {
      last7Days.promptTokens += d.promptTokens;
      last7Days.completionTokens += d.completionTokens;
      last7Days.images += d.images;
      last7Days.requests += d.requests;
    }
    const { day: _day, ...todays } = days.find((d) => d.day === today) ?? { day: today, ...zero() };
    return { ...key, usage: { today: todays, last7Days, days } };
  });
}

/** The user's keys that are not revoked, newest first (expired ones included, marked by their date), with their usage. */
export async function listApiKeys({ userId }: { userId: string }): Promise<ApiKeyWithUsage[]> {
  return withUsage(await db.apiKey.findMany({ where: { userId, revokedAt: null }, orderBy: { createdAt: "desc" }, select }));
}

/** One of the user's keys with its usage; a revoked key or another user's is "not found". */
export async function getApiKeyOrThrow({ id, userId }: { id: string; userId: string }): Promise<ApiKeyWithUsage> {
  const key = await db.apiKey.findFirst({ where: { id, userId, revokedAt: null }, select });
  if (!key) throw new AppError("not_found:api_key", "No such API key.");
  return (await withUsage([key]))[0]!;
}

/** Sets (or with null, removes) one of the user's keys' tokens-per-minute cap; another user's key id is "not found". */
export async function setApiKeyCapOrThrow({ id, userId, tokensPerMinute }: { id: string; userId: string; tokensPerMinute: number | null }): Promise<ApiKeyWithUsage> {
  const { count } = await db.apiKey.updateMany({ where: { id, userId, revokedAt: null }, data: { tokensPerMinute } });
  if (count === 0) throw new AppError("not_found:api_key", "No such API key.");
  return getApiKeyOrThrow({ id, userId });
}

/** Revokes one of the user's keys; another user's key id is "not found". */
export async function revokeApiKeyOrThrow({ id, userId }: { id: string; userId: string }): Promise<void> {
  const { count } = await db.apiKey.updateMany({ where: { id, userId, revokedAt: null }, data: { revokedAt: new Date() } });
  if (count === 0) throw new AppError("not_found:api_key", "No such API key.");
}

/** The key with this secret hash, if it exists at all (callers check revocation and expiry). */
export function findApiKeyByHash({ hash }: { hash: string }) {
  return db.apiKey.findUnique({ where: { hash }, select: { id: true, userId: true, expiresAt: true, revokedAt: true, lastUsedAt: true, tokensPerMinute: true } });
}

export async function touchApiKey({ id }: { id: string }): Promise<void> {
  await db.apiKey.update({ where: { id }, data: { lastUsedAt: new Date() } });
}

/**
 * Adds one answered request's cost to the key's row for `day`. One
 * INSERT … ON CONFLICT DO UPDATE (the same SQL on SQLite and PostgreSQL): the
 * database adds to whatever the row holds, so instances writing at once all
 * count, and the first write of a day cannot race another into a duplicate.
 */
export async function recordApiKeyUsage({ keyId, day, promptTokens, completionTokens, images }: { keyId: string; day: string } & Omit<UsageTotals, "requests">): Promise<void> {
  await db.$executeRaw`INSERT INTO "ApiKeyUsage" ("keyId", "day", "promptTokens", "completionTokens", "images", "requests")
    VALUES (${keyId}, ${day}, ${promptTokens}, ${completionTokens}, ${images}, 1)
    ON CONFLICT ("keyId", "day") DO UPDATE SET
      "promptTokens" = "ApiKeyUsage"."promptTokens" + excluded."promptTokens",
      "completionTokens" = "ApiKeyUsage"."completionTokens" + excluded."completionTokens",
      "images" = "ApiKeyUsage"."images" + excluded."images",
      "requests" = "ApiKeyUsage"."requests" + 1`;
}
