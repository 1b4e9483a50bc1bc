import "server-only";
import type { JWT } from "next-auth/jwt";
import { isSessionIdRevoked, revokeSessionId } from "@/lib/db/revoked-sessions";
import { bumpTokenVersion, getTokenVersion } from "@/lib/db/users";

/**
 * Session tokens are JWTs (the Credentials provider needs them), valid by
 * signature alone; these checks make them revocable. Each token carries its
 * user's `tokenVersion` (`ver`) and a session id (`sid`) that stays the same
 * while next-auth re-issues the token. A token counts only if its version is
 * the user's current one ("sign out everywhere" bumps it) and its session id
 * was not signed out (plain sign-out records it). Checked on every request
 * that reads the session, at the cost of two small lookups.
 */
export async function tokenIsCurrent(token: JWT): Promise<boolean> {
  if (!token.sub || !token.sid) return false;
  const version = await getTokenVersion({ userId: token.sub });
  if (version === null || version !== (token.ver ?? 0)) return false;
  return !(await isSessionIdRevoked({ id: token.sid }));
}

/** Plain sign-out: this token (and its re-issued copies) stops counting; other devices stay signed in. */
export async function revokeToken(token: JWT): Promise<void> {
  if (!token.sub || !token.sid) return;
  // `exp` is in seconds; without one, keep the record for the longest session (30 days).
  const expiresAt = new Date(typeof token.exp === "number" ? token.exp * 1000 : Date.now() + 30 * 24 * 3600 * 1000);
  await revokeSessionId({ id: token.sid, userId: token.sub, expiresAt });
}

/** "Sign out everywhere": every token the user holds stops counting, this one included. */
export async function revokeAllTokens({ userId }: { userId: string }): Promise<void> {
  await bumpTokenVersion({ userId });
}
