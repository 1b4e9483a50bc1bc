/** Why a pull stopped, in words a user can act on. */
export type PullErrorCode =
  | "bad_name"
  | "gated"
  | "not_found"
  | "no_gguf"
  | "split_model"
  | "checksum"
  | "download"
  | "cancelled"
  | "busy";

export class PullError extends Error {
  override name = "PullError";
  constructor(
    readonly code: PullErrorCode,
    message: string,
  ) {
    super(message);
  }
}
