import "server-only";
import { createHash, randomBytes } from "node:crypto";
import { createApiKey, findApiKeyByHash, touchApiKey, type ApiKeyRecord } from "@/lib/db/api-keys";
import { AppError } from "@/lib/errors";
import { limitApiUser } from "./rate-limit";

/** Every secret starts with this, so it is recognisable in a config file or a secret scanner. */
const SECRET_PREFIX = "lvc-";
/** Characters of the secret shown in lists (the prefix plus 6). */
const SHOWN = SECRET_PREFIX.length + 6;
/** Last-use times are written at most this often per key, in ms. */
const TOUCH_EVERY_MS = 60_000;

const hashSecret = (secret: string) => createHash("sha256").update(secret).digest("hex");

/** Creates a key; the secret is returned here and never again (only its hash is stored). */
export async function issueApiKey({
  userId,
  name,
  expiresAt,
  tokensPerMinute = null,
}: {
  userId: string;
  name: string;
  expiresAt: Date | null;
  /** The key's tokens-per-minute cap (meterApiKey); null (the default) = none. */
  tokensPerMinute?: number | null;
}): Promise<{ key: ApiKeyRecord; secret: string }> {
  if (expiresAt && expiresAt.getTime() <= Date.now()) throw new AppError("bad_request:api_key", "expiresAt must be in the future.");
  const secret = `${SECRET_PREFIX}${randomBytes(32).toString("base64url")}`;
  const key = await createApiKey({ userId, name, prefix: secret.slice(0, SHOWN), hash: hashSecret(secret), expiresAt, tokensPerMinute });
  return { key, secret };
}

/**
 * The user a bearer secret belongs to. A missing, unknown, revoked or
 * expired key is `unauthorized:api_key` (401) with a message that says which;
 * a key past API_RATE_LIMIT_PER_MINUTE is `rate_limited:api` (429). Pass the
 * result to `meterApiKey` to enforce the key's token cap and count its usage.
 */
export async function authenticateApiKey(authorization: string | null): Promise<{ userId: string; keyId: string; tokensPerMinute: number | null }> {
  const secret = /^Bearer\s+(\S+)$/i.exec(authorization ?? "")?.[1];
  if (!secret) throw new AppError("unauthorized:api_key", "Missing API key: send it as 'Authorization: Bearer <key>'. Create one under Settings.");
  const key = await findApiKeyByHash({ hash: hashSecret(secret) });
  if (!key) throw new AppError("unauthorized:api_key", "Invalid API key.");
  if (key.revokedAt) throw new AppError("unauthorized:api_key", "This API key was revoked.");
  if (key.expiresAt && key.expiresAt.getTime() <= Date.now()) throw new AppError("unauthorized:api_key", "This API key has expired.");
  await limitApiUser({ userId: key.userId });
  if (!key.lastUsedAt || Date.now() - key.lastUsedAt.getTime() > TOUCH_EVERY_MS) await touchApiKey({ id: key.id });
  return { userId: key.userId, keyId: key.id, tokensPerMinute: key.tokensPerMinute };
}
