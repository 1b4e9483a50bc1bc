import "server-only";
import { RateLimiterMemory, RateLimiterPrisma, type RateLimiterAbstract } from "rate-limiter-flexible";
import { db } from "@/lib/db/client";
import { recordApiKeyUsage, usageDay } from "@/lib/db/api-keys";
import { AppError } from "@/lib/errors";
import type { KeyUsage } from "@/lib/openai/chat-completions";

/** The window of a key's tokens-per-minute cap, in seconds. */
const WINDOW_SECONDS = 60;

const globalForMeter = globalThis as { __keyTokens?: RateLimiterAbstract };

/**
 * Tokens each capped key spent in its current minute, in the database's
 * RateLimiterFlexible table (as the request limit is), so every instance
 * sees the same count. A counter, never a refusal by itself: its `points` is
 * unbounded, because each key has its own cap, compared in `meterApiKey`.
 * The window is fixed: it starts with the first tokens counted after the
 * last one ended. The rows are swept with the other limiters' expired rows.
 */
const keyTokens = (globalForMeter.__keyTokens ??= new RateLimiterPrisma({
  storeClient: db,
  tableName: "rateLimiterFlexible",
  keyPrefix: "api-key-tpm",
  points: Number.MAX_SAFE_INTEGER,
  duration: WINDOW_SECONDS,
  clearExpiredByTimeout: false,
  insuranceLimiter: new RateLimiterMemory({ keyPrefix: "api-key-tpm", points: Number.MAX_SAFE_INTEGER, duration: WINDOW_SECONDS }),
}));

export interface ApiKeyMeter {
  /**
   * Records one answer's cost against the key: its row for today (UTC) and,
   * for a capped key, its tokens this minute. Never throws (a failure is
   * logged): the answer has been given by then.
   */
  onUsage: (usage: KeyUsage) => Promise<void>;
}

/**
 * Admits one /v1 (or /ollama) request for an authenticated key and returns
 * what to tell its cost to. A key with a tokens-per-minute cap whose tokens
 * this minute have reached it is refused with `rate_limited:tokens` (429 with
 * Retry-After: the seconds until its minute ends).
 *
 * The check comes before generation and the count after it (an answer's cost
 * is known only when it ends), so a request admitted just under the cap may
 * take the minute past it; the next one then waits for the window to end.
 *
 * Usage: `const meter = await meterApiKey(await authenticateApiKey(auth))`,
 * then `onUsage: meter.onUsage`.
 */
export async function meterApiKey({ keyId, tokensPerMinute }: { keyId: string; tokensPerMinute: number | null }): Promise<ApiKeyMeter> {
  if (tokensPerMinute !== null) {
    const spent = await keyTokens.get(keyId);
    if (spent && spent.consumedPoints >= tokensPerMinute) {
      const retryAfterSeconds = Math.max(1, Math.ceil(spent.msBeforeNext / 1000));
      throw new AppError(
        "rate_limited:tokens",
        `This API key has used its ${tokensPerMinute} tokens per minute (${spent.consumedPoints} so far). Try again in ${retryAfterSeconds} seconds.`,
        { retryAfterSeconds },
      );
    }
  }
  return {
    onUsage: async ({ promptTokens, completionTokens, images }) => {
      try {
        const tokens = promptTokens + completionTokens;
        await Promise.all([
          recordApiKeyUsage({ keyId, day: usageDay(), promptTokens, completionTokens, images }),
          tokensPerMinute !== null && tokens > 0 ? keyTokens.penalty(keyId, tokens) : null,
        ]);
      } catch (err) {
        console.error("[api-key] usage not recorded:", err);
      }
    },
  };
}
