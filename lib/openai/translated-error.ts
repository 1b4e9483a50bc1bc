import { ZodError } from "zod";
import { OpenAiError } from "./errors";

/**
 * An error about a translated chat-completion request (from its schema or
 * from `createChatCompletion`) restated in the caller's terms: `rename` maps
 * the chat-completion parameter at fault (`response_format`,
 * `messages.2.content.0.image_url.url`) to the field the client sent
 * (`text.format`, `input.1.content.0.image_url`). Anything else passes
 * through unchanged.
 */
export function translatedError(err: unknown, rename: (param: string) => string): unknown {
  if (err instanceof ZodError) {
    const issue = err.issues[0];
    const param = issue?.path.length ? rename(issue.path.join(".")) : null;
    return new OpenAiError(400, `${param ? `${param}: ` : ""}${issue?.message ?? "invalid request"}`, param, "invalid_value");
  }
  if (err instanceof OpenAiError && err.param) return new OpenAiError(err.status, err.message, rename(err.param), err.code, err.retryAfterSeconds);
  return err;
}
