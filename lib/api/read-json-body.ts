import { AppError } from "@/lib/errors";
import { readBodyOrThrow, SMALL_BODY_MAX_BYTES, type ReadBodyOptions } from "./read-body";

const isJson = (req: Request) => /^application\/json\s*(;|$)/i.test(req.headers.get("content-type") ?? "");

/**
 * Reads and parses a JSON body of at most `maxBytes` (default
 * {@link SMALL_BODY_MAX_BYTES}), refused while it streams in (see
 * {@link readBodyOrThrow}). Anything but `application/json` is a 415: a
 * cross-site form or `text/plain` POST cannot carry that type without a CORS
 * preflight, which this app never grants. Malformed JSON is a 400.
 */
export async function readJsonBodyOrThrow(
  req: Request,
  { maxBytes = SMALL_BODY_MAX_BYTES, surface = "api", what, notJson = "The request body must be valid JSON." }: Partial<ReadBodyOptions> & { notJson?: string } = {},
): Promise<unknown> {
  if (!isJson(req)) throw new AppError(`unsupported_media_type:${surface}`, "Send the request as application/json.");
  const bytes = await readBodyOrThrow(req, { maxBytes, surface, what });
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new AppError(`bad_request:${surface}`, notJson);
  }
}
