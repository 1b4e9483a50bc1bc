import { ZodError } from "zod";
import { EngineError } from "@/lib/engine/errors";
import { toAppError } from "@/lib/errors";

/** OpenAI's error types by HTTP status. */
const typeByStatus: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  404: "invalid_request_error",
  413: "invalid_request_error",
  415: "invalid_request_error",
  429: "rate_limit_error",
  503: "server_error",
};

/** An error the API answers in OpenAI's shape, naming the parameter at fault. */
export class OpenAiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/**
 * Any thrown value → `{"error":{"message","type","param","code"}}` with the
 * right status (and Retry-After for 429/503), the shape OpenAI's clients parse.
 */
export function openAiErrorResponse(err: unknown): Response {
  let e: OpenAiError;
  if (err instanceof OpenAiError) e = err;
  else if (err instanceof ZodError) {
    const issue = err.issues[0];
    const param = issue?.path.length ? issue.path.join(".") : null;
    e = new OpenAiError(400, `${param ? `${param}: ` : ""}${issue?.message ?? "invalid request"}`, param, "invalid_value");
  } else if (err instanceof EngineError) {
    const adapter = err.code === "unknown_adapter" || err.code === "adapter_refused";
    const status = err.code === "queue_full" ? 503 : err.code === "no_vision" || err.code === "bad_image" || err.code === "context_overflow" || adapter ? 400 : 503;
    e = new OpenAiError(status, err.message, adapter ? "adapters" : null, `engine_${err.code}`, err.retryAfterSeconds ?? (status === 503 ? 10 : undefined));
  } else {
    const app = toAppError(err);
    if (app.type === "internal") console.error("[v1] unexpected error:", err);
    const code = app.code.startsWith("unauthorized") ? "invalid_api_key" : app.code.replace(":", "_");
    e = new OpenAiError(app.status, app.message, null, code, app.extra.retryAfterSeconds);
  }
  const headers = new Headers({ "content-type": "application/json", "cache-control": "no-store" });
  if (e.retryAfterSeconds !== undefined) headers.set("retry-after", String(Math.ceil(e.retryAfterSeconds)));
  const body = { error: { message: e.message, type: typeByStatus[e.status] ?? "server_error", param: e.param, code: e.code } };
  return new Response(JSON.stringify(body), { status: e.status, headers });
}
