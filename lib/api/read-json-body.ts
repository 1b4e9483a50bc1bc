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
  const text = new TextDecoder().decode(bytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AppError(`bad_request:${surface}`, notJson);
  }
  // Only a \uD800–\uDFFF escape can make a string that is not Unicode (the decoder replaces bad bytes).
  if (SURROGATE_ESCAPE.test(text)) {
    const where = loneSurrogateAt(value);
    if (where !== null) {
      throw new AppError(`bad_request:${surface}`, `${where ? `${where}: ` : ""}the text is not valid Unicode (it holds half of a UTF-16 surrogate pair).`);
    }
  }
  return value;
}

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F][0-9a-fA-F]{2}/;

/**
 * The path (`messages.0.content`) of the first string or key holding a lone
 * UTF-16 surrogate, or null when there is none. Such a string cannot be
 * stored (the database refuses it) or encoded as UTF-8, so it is refused at
 * the door as a 400, never met later as a 500 or a half-stored answer.
 */
export function loneSurrogateAt(value: unknown): string | null {
  const stack: [unknown, string][] = [[value, ""]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === "string") {
      if (!v.isWellFormed()) return path;
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => stack.push([item, path ? `${path}.${i}` : String(i)]));
    } else if (v && typeof v === "object") {
      for (const [k, item] of Object.entries(v)) {
        const at = path ? `${path}.${k}` : k;
        if (!k.isWellFormed()) return at;
        stack.push([item, at]);
      }
    }
  }
  return null;
}
