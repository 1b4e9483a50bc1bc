import "server-only";
import type { PrismaClient } from "@prisma/client";
import { RateLimiterMemory, RateLimiterPrisma, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";

/**
 * Sign-in and sign-up throttles, counted in the database (the
 * `RateLimiterFlexible` table) so every app instance on it sees the same
 * counts and a restart forgets nothing. Sign-in: per IP to slow down
 * spraying; per (IP, email) to stop one address guessing one account, without
 * locking the owner out from another address; and per email an increasing
 * delay between failed attempts, one attempt at a time per instance, to slow
 * guessing from many addresses (at worst the owner waits a few seconds).
 * Should the database fail, each limiter counts in memory meanwhile
 * (rate-limiter-flexible's insurance limiter), so sign-in keeps working.
 */
export interface AuthLimiters {
  perIp: RateLimiterAbstract;
  perIpEmail: RateLimiterAbstract;
  failuresPerEmail: RateLimiterAbstract;
  signupPerIp: RateLimiterAbstract;
  apiPerKey: RateLimiterAbstract;
}

/** The app's limiters on a database client (tests make a second set on another client, as a second instance would). */
export function createAuthLimiters(storeClient: PrismaClient): AuthLimiters {
  const limiter = (keyPrefix: string, points: number, duration: number, clearExpiredByTimeout = false) =>
    new RateLimiterPrisma({
      storeClient,
      // Prisma's accessor for the RateLimiterFlexible model.
      tableName: "rateLimiterFlexible",
      keyPrefix,
      points,
      duration,
      // One limiter sweeps rows expired over an hour ago, every 5 minutes, for all of them.
      clearExpiredByTimeout,
      insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration }),
    });
  return {
    perIp: limiter("signin-ip", env.SIGNIN_LIMIT_PER_IP, 10 * 60, true),
    perIpEmail: limiter("signin-ip-email", env.SIGNIN_LIMIT_PER_EMAIL, 10 * 60),
    // A counter, never a limit: consecutive failures for the email in the last 10 minutes.
    failuresPerEmail: limiter("signin-failures", Number.MAX_SAFE_INTEGER, 10 * 60),
    signupPerIp: limiter("signup-ip", env.SIGNUP_LIMIT_PER_IP, 60 * 60),
    apiPerKey: limiter("api-key", env.API_RATE_LIMIT_PER_MINUTE, 60),
  };
}

const globalForLimits = globalThis as {
  __authLimiters?: AuthLimiters;
  __signInTurns?: Map<string, Promise<unknown>>;
};

const limiters = (globalForLimits.__authLimiters ??= createAuthLimiters(db));

async function consume(limiter: RateLimiterAbstract, key: string, surface = "auth", what = "attempts") {
  try {
    await limiter.consume(key);
  } catch (res) {
    // A refusal is a RateLimiterRes; checked by shape, because the bundle can hold two copies of the class.
    if (!(res instanceof RateLimiterRes) && !(typeof res === "object" && res !== null && "msBeforeNext" in res)) throw res;
    const retryAfterSeconds = Math.ceil((res as RateLimiterRes).msBeforeNext / 1000);
    throw new AppError(`rate_limited:${surface}`, `Too many ${what}. Try again in ${retryAfterSeconds} seconds.`, {
      retryAfterSeconds,
    });
  }
}

/** First delay after a failed sign-in, doubled per further failure, in milliseconds. */
export const SIGNIN_DELAY_BASE_MS = 250;
/** Longest delay before a sign-in attempt, in milliseconds. */
export const SIGNIN_DELAY_MAX_MS = 4000;

/** The wait before the next attempt after `failures` consecutive failures (0 → none). */
export const signInDelayMs = (failures: number) =>
  failures <= 0 ? 0 : Math.min(SIGNIN_DELAY_BASE_MS * 2 ** (failures - 1), SIGNIN_DELAY_MAX_MS);

const turns = (globalForLimits.__signInTurns ??= new Map());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `task` after every earlier task for `key` has finished. */
async function oneAtATime<T>(key: string, task: () => Promise<T>): Promise<T> {
  const before = turns.get(key) ?? Promise.resolve();
  const mine = before.catch(() => {}).then(task);
  turns.set(key, mine);
  try {
    return await mine;
  } finally {
    if (turns.get(key) === mine) turns.delete(key);
  }
}

/**
 * Runs one sign-in attempt under the throttles: refuses it (`rate_limited:auth`)
 * past the per-IP or per-(IP, email) limit; otherwise waits its turn for the
 * email, plus the delay its recent failures earned, then runs `attempt`. A
 * success clears the email's failures and this address's count for it.
 */
export async function throttleSignIn<T>({ ip, email }: { ip: string; email: string }, attempt: () => Promise<T | null>): Promise<T | null> {
  const ipEmail = `${ip} ${email}`;
  await consume(limiters.perIp, ip);
  await consume(limiters.perIpEmail, ipEmail);
  return oneAtATime(email, async () => {
    const failures = (await limiters.failuresPerEmail.get(email))?.consumedPoints ?? 0;
    await sleep(signInDelayMs(failures));
    const result = await attempt();
    if (result === null) await limiters.failuresPerEmail.consume(email);
    else await Promise.all([limiters.failuresPerEmail.delete(email), limiters.perIpEmail.delete(ipEmail)]);
    return result;
  });
}

export const limitSignUp = ({ ip }: { ip: string }) => consume(limiters.signupPerIp, ip);

/**
 * Counts one API request for a user (all their keys together, so more keys
 * do not mean more requests); throws `rate_limited:api` (429 + Retry-After)
 * past API_RATE_LIMIT_PER_MINUTE.
 */
export const limitApiUser = ({ userId }: { userId: string }) => consume(limiters.apiPerKey, userId, "api", "API requests");
