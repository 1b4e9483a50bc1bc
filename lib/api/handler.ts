import type { z } from "zod";
import { AppError, errorResponse } from "@/lib/errors";

/** Wraps a route handler so every thrown error goes through the one funnel. */
export function apiHandler<Ctx>(handler: (req: Request, ctx: Ctx) => Promise<Response>) {
  return async (req: Request, ctx: Ctx): Promise<Response> => {
    try {
      return await handler(req, ctx);
    } catch (err) {
      return errorResponse(err);
    }
  };
}

/** Parses the JSON body with `schema`; malformed JSON is a 400, never a 500. */
export async function parseJson<S extends z.ZodType>(req: Request, schema: S): Promise<z.infer<S>> {
  let body: unknown;
  try {
    body = await req.json();
  } catch {
    throw new AppError("bad_request:api", "The request body must be valid JSON.");
  }
  return schema.parse(body);
}

export const json = (body: unknown, init?: ResponseInit) => Response.json(body, init);
