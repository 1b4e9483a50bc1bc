import { NextResponse, type NextRequest } from "next/server";
import { contentSecurityPolicy } from "@/lib/http/content-security-policy";

/**
 * Gives every page a fresh CSP nonce: Next.js reads it from the request's
 * `Content-Security-Policy` header and puts it on the scripts it renders.
 * The other security headers are static and set in next.config.mjs.
 */
export function proxy(request: NextRequest) {
  const nonce = Buffer.from(crypto.randomUUID()).toString("base64");
  const csp = contentSecurityPolicy({ nonce, dev: process.env.NODE_ENV === "development" });
  const headers = new Headers(request.headers);
  headers.set("content-security-policy", csp);
  const response = NextResponse.next({ request: { headers } });
  response.headers.set("content-security-policy", csp);
  return response;
}

export const config = {
  matcher: [
    {
      // Pages only. Next.js copies the body of every request the proxy sees
      // into memory (up to proxyClientMaxBodySize, truncating the rest), so
      // the API routes, which bound their bodies themselves, stay out;
      // static files need no nonce.
      source: "/((?!api/|v1/|ollama|_next/static/|_next/image|favicon\\.ico).*)",
      missing: [
        { type: "header", key: "next-router-prefetch" },
        { type: "header", key: "purpose", value: "prefetch" },
      ],
    },
  ],
};
