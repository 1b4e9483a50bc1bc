import "server-only";
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";

/**
 * Sign-in and sign-up throttles, in memory (one app instance owns one
 * machine; see ARCHITECTURE.md). Per IP to slow down spraying, per email to
 * stop guessing one account's password from many addresses.
 */
const globalForLimits = globalThis as {
  __authLimiters?: { perIp: RateLimiterMemory; perEmail: RateLimiterMemory; signupPerIp: RateLimiterMemory; apiPerKey: RateLimiterMemory };
};

const limiters = (globalForLimits.__authLimiters ??= {
  perIp: new RateLimiterMemory({ keyPrefix: "signin-ip", points: env.SIGNIN_LIMIT_PER_IP, duration: 10 * 60 }),
  perEmail: new RateLimiterMemory({ keyPrefix: "signin-email", points: env.SIGNIN_LIMIT_PER_EMAIL, duration: 10 * 60 }),
  signupPerIp: new RateLimiterMemory({ keyPrefix: "signup-ip", points: env.SIGNUP_LIMIT_PER_IP, duration: 60 * 60 }),
  apiPerKey: new RateLimiterMemory({ keyPrefix: "api-key", points: env.API_RATE_LIMIT_PER_MINUTE, duration: 60 }),
});

async function consume(limiter: RateLimiterMemory, key: string, surface = "auth", what = "attempts") {
  try {
    await limiter.consume(key);
  } catch (res) {
    if (!(res instanceof RateLimiterRes)) throw res;
    const retryAfterSeconds = Math.ceil(res.msBeforeNext / 1000);
    throw new AppError(`rate_limited:${surface}`, `Too many ${what}. Try again in ${retryAfterSeconds} seconds.`, {
      retryAfterSeconds,
    });
  }
}

/** Counts one sign-in attempt; throws `rate_limited:auth` past the limit. */
export async function limitSignIn({ ip, email }: { ip: string; email: string }) {
  await consume(limiters.perIp, ip);
  await consume(limiters.perEmail, email);
}

/** A successful sign-in clears that email's counter. */
export async function resetSignInLimit({ email }: { email: string }) {
  await limiters.perEmail.delete(email);
}

export const limitSignUp = ({ ip }: { ip: string }) => consume(limiters.signupPerIp, ip);

/**
 * Counts one API request for a user (all their keys together, so more keys
 * do not mean more requests); throws `rate_limited:api` (429 + Retry-After)
 * past API_RATE_LIMIT_PER_MINUTE.
 */
export const limitApiUser = ({ userId }: { userId: string }) => consume(limiters.apiPerKey, userId, "api", "API requests");
