import "server-only";
import { encode, getToken } from "next-auth/jwt";
import { cookies } from "next/headers";
import { authOptions } from "./options";

/**
 * Re-issues the session cookie of this request with the user's new token
 * version, so that after a password change this device stays signed in while
 * every other session (still carrying the old version) is refused. The
 * session id (`sid`) is kept. Must run in a route handler (it sets a cookie).
 */
export async function reissueSession({ tokenVersion }: { tokenVersion: number }): Promise<void> {
  const jar = await cookies();
  const secure = jar.has("__Secure-next-auth.session-token");
  const name = secure ? "__Secure-next-auth.session-token" : "next-auth.session-token";
  const secret = authOptions.secret!;
  // The session cookie only (no bearer header): this browser's session is the one kept.
  const token = await getToken({ req: { cookies: jar, headers: new Headers() } as unknown as Parameters<typeof getToken>[0]["req"], secret, secureCookie: secure });
  if (!token) return;
  const maxAge = authOptions.session?.maxAge ?? 30 * 24 * 60 * 60;
  const value = await encode({ token: { ...token, ver: tokenVersion }, secret, maxAge });
  jar.set(name, value, { httpOnly: true, sameSite: "lax", path: "/", secure, maxAge });
}
