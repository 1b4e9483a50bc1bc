/** Errors the engine throws on purpose; each has a plain-words message. */
export type EngineErrorCode =
  | "no_model"
  | "orphan_mmproj"
  | "width_mismatch"
  | "family_mismatch"
  | "not_gguf"
  | "truncated"
  | "unsupported_projector"
  | "load_failed"
  | "queue_full"
  | "no_vision"
  | "bad_image"
  | "context_overflow"
  /** A request named an adapter the model does not have (or gave a bad scale). */
  | "unknown_adapter"
  /** A request named an adapter the catalog refused for this model (another base). */
  | "adapter_refused"
  | "disposed";

const BRAND = Symbol.for("local-vision-chat.EngineError");

/**
 * `instanceof EngineError` is true for an EngineError made by any copy of
 * this module: Next bundles `instrumentation.ts` (which loads the engine at
 * start-up) apart from the route handlers, so the engine singleton's errors
 * come from another copy of this class than the one a route imports. Without
 * this, a "busy" from the engine was an opaque 500 instead of a 503.
 */
export class EngineError extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
  readonly [BRAND] = true;
  override name = "EngineError";
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    /** For queue_full: seconds a client should wait before retrying. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}
