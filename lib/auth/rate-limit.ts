import "server-only";
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";

/**
 * Sign-in and sign-up throttles, in memory (one app instance owns one
 * machine; see ARCHITECTURE.md). Sign-in: per IP to slow down spraying; per
 * (IP, email) to stop one address guessing one account, without locking the
 * owner out from another address; and per email an increasing delay between
 * failed attempts, one attempt at a time, to slow guessing from many
 * addresses (at worst the owner waits a few seconds).
 */
const globalForLimits = globalThis as {
  __authLimiters?: {
    perIp: RateLimiterMemory;
    perIpEmail: RateLimiterMemory;
    failuresPerEmail: RateLimiterMemory;
    signupPerIp: RateLimiterMemory;
    apiPerKey: RateLimiterMemory;
  };
  __signInTurns?: Map<string, Promise<unknown>>;
};

const limiters = (globalForLimits.__authLimiters ??= {
  perIp: new RateLimiterMemory({ keyPrefix: "signin-ip", points: env.SIGNIN_LIMIT_PER_IP, duration: 10 * 60 }),
  perIpEmail: new RateLimiterMemory({ keyPrefix: "signin-ip-email", points: env.SIGNIN_LIMIT_PER_EMAIL, duration: 10 * 60 }),
  // A counter, never a limit: consecutive failures for the email in the last 10 minutes.
  failuresPerEmail: new RateLimiterMemory({ keyPrefix: "signin-failures", points: Number.MAX_SAFE_INTEGER, duration: 10 * 60 }),
  signupPerIp: new RateLimiterMemory({ keyPrefix: "signup-ip", points: env.SIGNUP_LIMIT_PER_IP, duration: 60 * 60 }),
  apiPerKey: new RateLimiterMemory({ keyPrefix: "api-key", points: env.API_RATE_LIMIT_PER_MINUTE, duration: 60 }),
});

async function consume(limiter: RateLimiterMemory, key: string, surface = "auth", what = "attempts") {
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
