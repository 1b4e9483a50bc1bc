import type { z } from "zod";
import { errorResponse } from "@/lib/errors";
import { readJsonBodyOrThrow } from "./read-json-body";
import { assertSameOriginOrThrow } from "./same-origin";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Wraps a route handler so every thrown error goes through the one funnel,
 * and state-changing requests (POST, PUT, PATCH, DELETE) from another
 * origin are refused before the handler runs.
 */
export function apiHandler<Ctx>(handler: (req: Request, ctx: Ctx) => Promise<Response>) {
  return async (req: Request, ctx: Ctx): Promise<Response> => {
    try {
      if (!SAFE_METHODS.has(req.method)) assertSameOriginOrThrow(req);
      return await handler(req, ctx);
    } catch (err) {
      return errorResponse(err);
    }
  };
}

/**
 * Parses an `application/json` body of at most `maxBytes` (default 64 KiB,
 * refused while it streams in) with `schema`: another content type is a
 * 415, a larger body a 413, malformed JSON a 400, never a 500.
 */
export async function parseJson<S extends z.ZodType>(req: Request, schema: S, { maxBytes }: { maxBytes?: number } = {}): Promise<z.infer<S>> {
  return schema.parse(await readJsonBodyOrThrow(req, { maxBytes }));
}

export const json = (body: unknown, init?: ResponseInit) => Response.json(body, init);
