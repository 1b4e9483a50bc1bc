import "server-only";
import type { PrismaClient } from "@prisma/client";
import { RateLimiterMemory, RateLimiterPrisma, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";

/**
 * Sign-in and sign-up throttles, counted in the database (the
 * `RateLimiterFlexible` table) so every app instance on it sees the same
 * counts and a restart forgets nothing. Sign-in, fair to the owner:
 * - per address, to slow down spraying;
 * - per (address, email): a limit, and an increasing delay after each
 *   failure, so one address guessing one account slows to a crawl. The
 *   delay is that address's own: attempts from other addresses never make
 *   the owner wait, and nothing queues behind anyone else's attempts;
 * - per email, a count of failures from everywhere: past
 *   SIGNIN_ACCOUNT_FAILURE_LIMIT in 10 minutes (a spray from many
 *   addresses), addresses that never signed in to the account are refused
 *   at once (429, no wait); addresses it signed in from in the last 30 days
 *   still get in.
 * Unknown and known emails go through the same steps (a password hash is
 * checked either way), so the time taken tells them apart no more than the
 * answer does. Should the database fail, each limiter counts in memory
 * meanwhile (rate-limiter-flexible's insurance limiter).
 */
export interface AuthLimiters {
  perIp: RateLimiterAbstract;
  perIpEmail: RateLimiterAbstract;
  failuresPerIpEmail: RateLimiterAbstract;
  failuresPerEmail: RateLimiterAbstract;
  knownAddress: RateLimiterAbstract;
  signupPerIp: RateLimiterAbstract;
  apiPerKey: RateLimiterAbstract;
  imagesPerUser: RateLimiterAbstract;
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
    // Counters, never limits: consecutive failures from one address for the email, and from all.
    failuresPerIpEmail: limiter("signin-failures-ip-email", Number.MAX_SAFE_INTEGER, 10 * 60),
    failuresPerEmail: limiter("signin-failures", Number.MAX_SAFE_INTEGER, 10 * 60),
    // A mark: this address signed in to this account in the last 30 days.
    knownAddress: limiter("signin-known", Number.MAX_SAFE_INTEGER, 30 * 24 * 3600),
    signupPerIp: limiter("signup-ip", env.SIGNUP_LIMIT_PER_IP, 60 * 60),
    apiPerKey: limiter("api-key", env.API_RATE_LIMIT_PER_MINUTE, 60),
    imagesPerUser: limiter("api-images", env.IMAGE_RATE_LIMIT_PER_MINUTE, 60),
  };
}

const globalForLimits = globalThis as {
  __authLimiters?: AuthLimiters;
  __signInTurns?: Map<string, Promise<unknown>>;
};

const limiters = (globalForLimits.__authLimiters ??= createAuthLimiters(db));

async function consume(limiter: RateLimiterAbstract, key: string, surface = "auth", what = "attempts", points = 1) {
  try {
    await limiter.consume(key, points);
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

const points = async (limiter: RateLimiterAbstract, key: string) => (await limiter.get(key))?.consumedPoints ?? 0;

/**
 * Runs one sign-in attempt under the throttles (see {@link AuthLimiters}):
 * refuses it (`rate_limited:auth`) past the per-address or per-(address,
 * email) limit, or during a spray on the account from an address it never
 * signed in from; otherwise waits the delay this address's own recent
 * failures for the email earned (attempts from one address for one email
 * run one at a time), then runs `attempt`. A success clears this address's
 * failures and marks the address as the account's.
 */
export async function throttleSignIn<T>({ ip, email }: { ip: string; email: string }, attempt: (from: { knownAddress: boolean }) => Promise<T | null>): Promise<T | null> {
  const ipEmail = `${ip} ${email}`;
  await consume(limiters.perIp, ip);
  await consume(limiters.perIpEmail, ipEmail);
  const [sprayed, known] = await Promise.all([points(limiters.failuresPerEmail, email), points(limiters.knownAddress, ipEmail)]);
  if (sprayed >= env.SIGNIN_ACCOUNT_FAILURE_LIMIT && !known) {
    throw new AppError("rate_limited:auth", "Too many attempts. Try again in 10 minutes.", { retryAfterSeconds: 600 });
  }
  return oneAtATime(ipEmail, async () => {
    await sleep(signInDelayMs(await points(limiters.failuresPerIpEmail, ipEmail)));
    const result = await attempt({ knownAddress: known > 0 });
    if (result === null) await Promise.all([limiters.failuresPerIpEmail.consume(ipEmail), limiters.failuresPerEmail.consume(email)]);
    else {
      await Promise.all([limiters.failuresPerIpEmail.delete(ipEmail), limiters.perIpEmail.delete(ipEmail), limiters.knownAddress.consume(ipEmail)]);
    }
    return result;
  });
}

export const limitSignUp = ({ ip }: { ip: string }) => consume(limiters.signupPerIp, ip);

/** The address an account was created from counts as one it signed in from (its sign-ins go first under a spray). */
export const markKnownAddress = async ({ ip, email }: { ip: string; email: string }) => {
  await limiters.knownAddress.consume(`${ip} ${email}`);
};

/**
 * Counts one API request for a user (all their keys together, so more keys
 * do not mean more requests); throws `rate_limited:api` (429 + Retry-After)
 * past API_RATE_LIMIT_PER_MINUTE.
 */
/**
 * Images a user's API keys ask for through /v1/images/generations, all keys
 * together (as API_RATE_LIMIT_PER_MINUTE counts), `n` at a time, against
 * IMAGE_RATE_LIMIT_PER_MINUTE (429 with Retry-After past it). Returns the
 * refund, for a request that then fails: a refused or failed request spends
 * nothing. `n` above the whole minute's allowance is a 400 (no wait helps).
 */
export async function limitApiImages({ userId, n }: { userId: string; n: number }): Promise<() => Promise<void>> {
  if (n > env.IMAGE_RATE_LIMIT_PER_MINUTE) {
    throw new AppError("bad_request:api", `n must be at most ${env.IMAGE_RATE_LIMIT_PER_MINUTE}, the images an API user may have made in a minute; it was ${n}.`);
  }
  await consume(limiters.imagesPerUser, userId, "api", "images from this account's API keys", n);
  return async () => {
    await limiters.imagesPerUser.reward(userId, n).catch(() => {});
  };
}

export const limitApiUser = ({ userId }: { userId: string }) => consume(limiters.apiPerKey, userId, "api", "API requests");
