import { AppError } from "@/lib/errors";

/** Largest body of an ordinary request (sign-up, sign-in, renames, settings, presets, keys): 64 KiB. */
export const SMALL_BODY_MAX_BYTES = 64 * 1024;

/** `2 MiB`, `64 KiB`, `1.5 MiB`: a limit as people read it. */
export function formatBytes(bytes: number): string {
  const [value, unit] = bytes >= 1024 * 1024 ? [bytes / 1024 / 1024, "MiB"] : bytes >= 1024 ? [bytes / 1024, "KiB"] : [bytes, "bytes"];
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${unit}`;
}

export interface ReadBodyOptions {
  /** Largest body accepted, in bytes; a larger one is a 413 `payload_too_large:<surface>`. */
  maxBytes: number;
  /** The `surface` half of the error codes, e.g. `upload`. */
  surface: string;
  /** What the 413 message calls the body. Default "request body". */
  what?: string;
  /** The limit the 413 message names, when it differs from `maxBytes` (framing allowed on top). Default `maxBytes`. */
  shownLimit?: number;
}

/**
 * Reads a request body of at most `maxBytes`. A larger one is refused by its
 * declared Content-Length before a byte is read, and otherwise (chunked, or a
 * length that lies) as soon as the count passes the limit, so no more than
 * `maxBytes` is ever held in memory.
 */
export async function readBodyOrThrow(
  req: Request,
  { maxBytes, surface, what = "request body", shownLimit = maxBytes }: ReadBodyOptions,
): Promise<Uint8Array<ArrayBuffer>> {
  const tooLarge = () => new AppError(`payload_too_large:${surface}`, `The ${what} is larger than the ${formatBytes(shownLimit)} limit.`);
  if (Number(req.headers.get("content-length") ?? "0") > maxBytes) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body?.getReader();
  for (;;) {
    const next = await reader?.read();
    if (!next || next.done) break;
    size += next.value.byteLength;
    if (size > maxBytes) {
      await reader!.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(next.value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
