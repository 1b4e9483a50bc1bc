import NextAuth from "next-auth";
import { NextRequest } from "next/server";
import { readBodyOrThrow, SMALL_BODY_MAX_BYTES } from "@/lib/api/read-body";
import { assertSameOriginOrThrow } from "@/lib/api/same-origin";
import { authOptions } from "@/lib/auth/options";
import { errorResponse } from "@/lib/errors";

type Ctx = { params: Promise<{ nextauth: string[] }> };

const handler = NextAuth(authOptions);

// GET /api/auth/* – next-auth's standard session, CSRF, providers and sign-in pages
export { handler as GET };

// POST /api/auth/* – next-auth's sign-in and sign-out, from this origin only and with a small body
export async function POST(req: NextRequest, ctx: Ctx): Promise<Response> {
  let body: Uint8Array<ArrayBuffer>;
  try {
    assertSameOriginOrThrow(req);
    // next-auth would read any size of form whole; read it here, bounded, and hand it on.
    body = await readBodyOrThrow(req, { maxBytes: SMALL_BODY_MAX_BYTES, surface: "auth" });
  } catch (err) {
    return errorResponse(err);
  }
  return handler(new NextRequest(req.url, { method: req.method, headers: req.headers, body }), ctx);
}
