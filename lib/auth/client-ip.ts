/**
 * The client's address as `scripts/server.mjs` recorded it: the socket's
 * address, or with TRUST_PROXY the first address the proxy chain reports.
 */
export function clientIp(forwardedFor: string | string[] | null | undefined): string {
  const raw = Array.isArray(forwardedFor) ? forwardedFor.join(",") : (forwardedFor ?? "");
  return raw.split(",").map((s) => s.trim()).find(Boolean) ?? "unknown";
}
