import "server-only";
import bcrypt from "bcryptjs";
import { env } from "@/lib/env";

/** bcrypt cost factor: 11 by default, ~150 ms per hash on a small CPU, the usual interactive budget. */
const COST = env.PASSWORD_HASH_COST;

/**
 * Password hashing takes turns: bcryptjs computes on the main thread in
 * slices, so hashes running together only interleave, and each then takes as
 * long as all of them. One at a time, with attempts from an address the
 * account already signed in from (or was created from) first, a spray of
 * wrong passwords from many addresses makes the owner wait for at most the
 * hash in progress, not for all of them.
 */
const waiting: { first: (() => void)[]; rest: (() => void)[] } = ((globalThis as { __passwordTurns?: { first: (() => void)[]; rest: (() => void)[] } }).__passwordTurns ??= { first: [], rest: [] });
let running = false;

async function inTurn<T>(first: boolean, work: () => Promise<T>): Promise<T> {
  if (running) await new Promise<void>((resolve) => (first ? waiting.first : waiting.rest).push(resolve));
  running = true;
  try {
    return await work();
  } finally {
    const next = waiting.first.shift() ?? waiting.rest.shift();
    if (next) next();
    else running = false;
  }
}

export const hashPassword = (password: string) => inTurn(false, () => bcrypt.hash(password, COST));

/** `first`: the attempt comes from an address known to the account, and goes before the others waiting. */
export const verifyPassword = (password: string, hash: string, { first = false }: { first?: boolean } = {}) => inTurn(first, () => bcrypt.compare(password, hash));

/**
 * A hash made at another cost than PASSWORD_HASH_COST's (the setting changed):
 * it takes another time to check than dummyHash, which would tell known
 * accounts from unknown ones, so a successful sign-in hashes it again.
 */
export function needsRehash(hash: string): boolean {
  const rounds = /^\$2[abxy]?\$(\d{2})\$/.exec(hash)?.[1];
  return rounds !== undefined && Number(rounds) !== COST;
}

/** A valid hash to compare against when the email is unknown, so timing does not reveal accounts. */
export const dummyHash = bcrypt.hashSync("not-a-real-password", COST);
