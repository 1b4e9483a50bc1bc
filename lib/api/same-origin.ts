import "server-only";
import { env } from "@/lib/env";
import { listenOrigin } from "@/lib/env-schema";
import { AppError } from "@/lib/errors";

const LOOPBACK = ["127.0.0.1", "localhost", "::1", "0.0.0.0", "::"];

/**
 * The origins a browser may send state-changing requests from: APP_URL's,
 * the address the server listens on and, when it listens on loopback (or
 * everywhere), that port on each loopback name, since a browser on this
 * machine may call it `localhost` or `127.0.0.1`.
 */
export function allowedOrigins({ APP_URL, HOST, PORT } = env): Set<string> {
  const origins = new Set([APP_URL, listenOrigin(HOST, PORT)]);
  if (LOOPBACK.includes(HOST)) for (const h of ["127.0.0.1", "localhost", "::1"]) origins.add(listenOrigin(h, PORT));
  return origins;
}

const originOf = (url: string) => {
  try {
    return new URL(url).origin;
  } catch {
    return "null";
  }
};

/**
 * Refuses (403 `forbidden:origin`) a request a browser sent from another
 * origin: one whose `Sec-Fetch-Site` says cross-site or same-site (another
 * port on localhost is same-site, and SameSite cookies do not stop it), or
 * whose `Origin` (or, without one, `Referer`) is not an allowed origin.
 * A request with none of these headers did not come from a browser page
 * (browsers send `Origin` on every cross-origin and every same-origin
 * non-GET fetch or form post), so curl and SDK clients pass.
 */
export function assertSameOriginOrThrow(req: Request, allowed = allowedOrigins()): void {
  const site = req.headers.get("sec-fetch-site");
  const origin = req.headers.get("origin") ?? (req.headers.has("referer") ? originOf(req.headers.get("referer")!) : null);
  if (site === "cross-site" || site === "same-site" || (origin !== null && !allowed.has(origin))) {
    throw new AppError("forbidden:origin", "This request came from another site, so it was refused.");
  }
}
