import { env } from "@/lib/env";
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

/** Bodies larger than this may be held in memory only within the shared budget (`LARGE_BODY_BUDGET_BYTES`). */
const LARGE_BODY_BYTES = 1024 * 1024;
/** Longest a large body waits for room in the budget before it is refused with 503. */
const BUDGET_WAIT_MS = 30_000;

interface BodyBudget {
  free: number;
  waiters: { bytes: number; resolve: () => void }[];
}
const g = globalThis as { __bodyBudget?: BodyBudget };

/** Reserves `bytes` of the large-body budget (FIFO); resolves to the release, or throws 503 after {@link BUDGET_WAIT_MS}. */
async function reserve(bytes: number, total: number, surface: string): Promise<() => void> {
  const budget = (g.__bodyBudget ??= { free: total, waiters: [] });
  const release = () => {
    budget.free += bytes;
    while (budget.waiters[0] && budget.waiters[0].bytes <= budget.free) {
      const next = budget.waiters.shift()!;
      budget.free -= next.bytes;
      next.resolve();
    }
  };
  if (!budget.waiters.length && budget.free >= bytes) {
    budget.free -= bytes;
    return release;
  }
  await new Promise<void>((resolve, reject) => {
    const waiter = {
      bytes,
      resolve: () => {
        clearTimeout(timer);
        resolve();
      },
    };
    const timer = setTimeout(() => {
      budget.waiters = budget.waiters.filter((w) => w !== waiter);
      reject(new AppError(`unavailable:${surface}`, "The server is busy reading other large requests. Try again in a few seconds.", { retryAfterSeconds: 5 }));
    }, BUDGET_WAIT_MS);
    budget.waiters.push(waiter);
  });
  return release;
}

/**
 * Reads a request body of at most `maxBytes`. A larger one is refused by its
 * declared Content-Length before a byte is read, and otherwise (chunked, or a
 * length that lies) as soon as the count passes the limit, so no more than
 * `maxBytes` is ever held in memory.
 *
 * A large limit (over 1 MiB) also takes its room from one budget shared by
 * all requests (`LARGE_BODY_BUDGET_BYTES`, the declared length or else the
 * limit): a burst of huge bodies waits for room, or is refused with 503,
 * instead of growing the server's memory with each. With a declared length
 * the body is read into one buffer of that size (no chunk list and copy),
 * so a request holds about its own size while it is read.
 */
export async function readBodyOrThrow(
  req: Request,
  { maxBytes, surface, what = "request body", shownLimit = maxBytes }: ReadBodyOptions,
): Promise<Uint8Array<ArrayBuffer>> {
  const tooLarge = () => new AppError(`payload_too_large:${surface}`, `The ${what} is larger than the ${formatBytes(shownLimit)} limit.`);
  const declared = req.headers.get("content-length") === null ? null : Number(req.headers.get("content-length"));
  if (declared !== null && declared > maxBytes) throw tooLarge();
  let release = () => {};
  if (maxBytes > LARGE_BODY_BYTES) {
    const total = env.LARGE_BODY_BUDGET_BYTES;
    release = await reserve(Math.min(declared !== null && Number.isFinite(declared) ? declared : maxBytes, maxBytes, total), total, surface);
  }
  try {
    return await readInto(req, maxBytes, declared !== null && Number.isFinite(declared) ? declared : null, tooLarge);
  } finally {
    // The caller holds the bytes a little longer (to parse them); the budget is about reading many at once.
    release();
  }
}

async function readInto(req: Request, maxBytes: number, declared: number | null, tooLarge: () => AppError): Promise<Uint8Array<ArrayBuffer>> {
  const reader = req.body?.getReader();
  // With a declared length, one buffer of that size; a body that turns out longer falls back to chunks.
  let buffer: Uint8Array<ArrayBuffer> | null = declared !== null && declared > 0 ? new Uint8Array(declared) : null;
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const next = await reader?.read();
    if (!next || next.done) break;
    const chunk = next.value;
    if (size + chunk.byteLength > maxBytes) {
      await reader!.cancel().catch(() => {});
      throw tooLarge();
    }
    if (buffer && size + chunk.byteLength <= buffer.byteLength) buffer.set(chunk, size);
    else {
      if (buffer) {
        chunks.push(buffer.subarray(0, size));
        buffer = null;
      }
      chunks.push(chunk);
    }
    size += chunk.byteLength;
  }
  if (buffer) return size === buffer.byteLength ? buffer : buffer.slice(0, size);
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
