import { readJsonBodyOrThrow } from "@/lib/api/read-json-body";
import { AppError } from "@/lib/errors";
import { OpenAiError } from "./errors";

/** OpenAI-style error codes for the failures of {@link readJsonBodyOrThrow}. */
const codeByType: Partial<Record<AppError["type"], string>> = {
  payload_too_large: "request_too_large",
  unsupported_media_type: "unsupported_media_type",
  bad_request: "invalid_json",
};

/**
 * Reads an `application/json` body of at most `maxBytes` with the app's one
 * streaming reader (refused while it streams in), failing with the error
 * codes OpenAI's clients expect.
 */
export async function readJsonBody(req: Request, maxBytes: number): Promise<unknown> {
  try {
    return await readJsonBodyOrThrow(req, { maxBytes, surface: "request" });
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    throw new OpenAiError(err.status, err.message, null, codeByType[err.type] ?? null);
  }
}
