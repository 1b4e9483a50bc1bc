import { ZodError } from "zod";

type ErrorType =
  | "bad_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "payload_too_large"
  | "unsupported_media_type"
  | "rate_limited"
  | "unavailable"
  | "internal";

/** `type:surface`, e.g. `not_found:conversation`. */
export type ErrorCode = `${ErrorType}:${string}`;

const statusByType: Record<ErrorType, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

const APP_ERROR = Symbol.for("local-vision-chat.AppError");

/**
 * The one error type the app throws on purpose. Its message is safe to show
 * to the user; anything else that escapes is logged and answered with an
 * opaque 500. `instanceof` recognises one made by any bundle's copy of this
 * module (see EngineError).
 */
export class AppError extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[APP_ERROR] === true;
  }
  readonly [APP_ERROR] = true;
  override name = "AppError";
  readonly type: ErrorType;
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: { retryAfterSeconds?: number; details?: unknown } = {},
  ) {
    super(message);
    this.type = code.split(":")[0] as ErrorType;
    this.status = statusByType[this.type];
  }
}

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

function prismaCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^P\d{4}$/.test(code) ? code : undefined;
}

function clientGone(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return e?.code === "ECONNRESET" && e?.message === "aborted";
}

/** Maps any thrown value to an AppError (unknown errors become an opaque internal error). */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof ZodError) {
    const first = err.issues[0];
    const where = first?.path.length ? `${first.path.join(".")}: ` : "";
    return new AppError("bad_request:api", `${where}${first?.message ?? "invalid request"}`, {
      details: err.issues.map(({ path, message, code }) => ({ path, message, code })),
    });
  }
  // The client went away while its request body was being read (Stop before the question
  // reached the server): nothing was saved, and it is not the server's fault.
  if (clientGone(err)) return new AppError("bad_request:api", "The request was cancelled.");
  switch (prismaCode(err)) {
    case "P2025":
      return new AppError("not_found:api", "Not found.");
    case "P2002":
      return new AppError("conflict:api", "That already exists.");
  }
  return new AppError("internal:api", "Something went wrong on the server. The error was logged.");
}

/** The one funnel from errors to HTTP responses. */
export function errorResponse(err: unknown): Response {
  const appError = toAppError(err);
  if (appError.type === "internal") console.error("[api] unexpected error:", err);
  const body: ErrorBody = { error: { code: appError.code, message: appError.message } };
  if (appError.extra.details !== undefined) body.error.details = appError.extra.details;
  const headers = new Headers({ "content-type": "application/json", "cache-control": "no-store" });
  if (appError.extra.retryAfterSeconds !== undefined) {
    headers.set("retry-after", String(Math.ceil(appError.extra.retryAfterSeconds)));
  }
  return new Response(JSON.stringify(body), { status: appError.status, headers });
}
