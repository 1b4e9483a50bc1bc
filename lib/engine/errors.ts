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
  | "disposed";

export class EngineError extends Error {
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
