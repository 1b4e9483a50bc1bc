import "server-only";
import { once } from "node:events";
import { Worker } from "node:worker_threads";
import { AppError } from "@/lib/errors";

/** What the worker sends back, in this order: one head, batches of conversations, each image, each media file, the end. */
export type ArchivePiece =
  | { type: "head"; head: { format: unknown; version: unknown; exportedAt: unknown; conversations: number | null; images: number | null; media?: number | null } }
  /** Raw (unvalidated) conversations, `from` being the index of the first. */
  | { type: "conversations"; from: number; items: unknown[] }
  /** An image entry without its `data`; `bytes` is the decoded base64, or null when `data` was not valid base64. */
  | { type: "image"; index: number; image: Record<string, unknown>; bytes: Uint8Array | null; hadData: boolean }
  /** A media entry (video, audio, PDF, table) without its `data`, as for an image. */
  | { type: "media"; index: number; media: Record<string, unknown>; bytes: Uint8Array | null; hadData: boolean }
  | { type: "end" };

/**
 * The worker: plain CommonJS, run with `eval` so that no bundler has to
 * find a file for it. `JSON.parse` of a large file (and base64 decoding of
 * its images) takes hundreds of milliseconds that would otherwise block
 * every request of the server; here it runs on another thread, with its
 * own memory cap, and hands back small pieces (batches of conversations,
 * one image at a time, its bytes transferred, not copied).
 */
const WORKER_SOURCE = `(() => {
const { parentPort, workerData } = require("node:worker_threads");
const BATCH = workerData.batch;
let doc;
try {
  doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(workerData.bytes));
} catch {
  parentPort.postMessage({ type: "not_json" });
  return;
}
workerData.bytes = null;
const obj = doc && typeof doc === "object" && !Array.isArray(doc) ? doc : {};
const conversations = Array.isArray(obj.conversations) ? obj.conversations : null;
const images = Array.isArray(obj.images) ? obj.images : null;
const media = obj.media === undefined ? [] : Array.isArray(obj.media) ? obj.media : null;
parentPort.postMessage({ type: "head", head: { format: obj.format, version: obj.version, exportedAt: obj.exportedAt,
  conversations: conversations ? conversations.length : null, images: images ? images.length : null, media: media ? media.length : null } });
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
if (conversations) {
  let messages = 0;
  for (let i = 0; i < conversations.length; ) {
    const items = [];
    const from = i;
    // Batches of about BATCH messages: small enough to copy to the main thread in a moment.
    while (i < conversations.length && (items.length === 0 || messages < BATCH)) {
      const c = conversations[i++];
      items.push(c);
      messages += c && Array.isArray(c.messages) ? c.messages.length : 1;
    }
    messages = 0;
    parentPort.postMessage({ type: "conversations", from, items });
    for (let j = from; j < i; j++) conversations[j] = null;
  }
}
if (images) {
  for (let index = 0; index < images.length; index++) {
    const entry = images[index];
    images[index] = null;
    const image = entry && typeof entry === "object" && !Array.isArray(entry) ? Object.assign({}, entry) : {};
    const data = image.data;
    delete image.data;
    let bytes = null;
    if (typeof data === "string" && BASE64.test(data)) bytes = new Uint8Array(Buffer.from(data, "base64"));
    parentPort.postMessage({ type: "image", index, image, bytes, hadData: typeof data === "string" }, bytes ? [bytes.buffer] : []);
  }
}
if (media) {
  for (let index = 0; index < media.length; index++) {
    const entry = media[index];
    media[index] = null;
    const meta = entry && typeof entry === "object" && !Array.isArray(entry) ? Object.assign({}, entry) : {};
    const data = meta.data;
    delete meta.data;
    let bytes = null;
    if (typeof data === "string" && BASE64.test(data)) bytes = new Uint8Array(Buffer.from(data, "base64"));
    parentPort.postMessage({ type: "media", index, media: meta, bytes, hadData: typeof data === "string" }, bytes ? [bytes.buffer] : []);
  }
}
parentPort.postMessage({ type: "end" });
})();
`;

/**
 * Parses an export file off the main thread and yields it in pieces. The
 * body's memory moves to the worker (transferred); the worker's heap is
 * capped, so a hostile file is refused instead of growing the server.
 */
export async function* parseArchiveInWorker(bytes: Uint8Array, { batchMessages = 2000, maxHeapMb = 1024 } = {}): AsyncGenerator<ArchivePiece> {
  // A copy the worker can own (the request's buffer may be shared with Node's pool).
  const owned = new Uint8Array(bytes);
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { bytes: owned, batch: batchMessages },
    transferList: [owned.buffer],
    resourceLimits: { maxOldGenerationSizeMb: maxHeapMb },
    stdout: false,
    stderr: false,
  });
  const queue: unknown[] = [];
  let wake: (() => void) | null = null;
  let failure: Error | null = null;
  let exited = false;
  worker.on("message", (m) => {
    queue.push(m);
    wake?.();
  });
  worker.on("error", (err) => {
    failure = err;
    wake?.();
  });
  worker.on("exit", () => {
    exited = true;
    wake?.();
  });
  try {
    for (;;) {
      const next = queue.shift() as ArchivePiece | { type: "not_json" } | undefined;
      if (!next) {
        if (failure) {
          const oom = /memory|heap/i.test((failure as Error).message);
          throw new AppError(
            oom ? "payload_too_large:import" : "bad_request:import",
            oom ? "The file needs more memory to read than an import may use. Split it into smaller exports." : "The file could not be read.",
          );
        }
        if (exited) throw new AppError("bad_request:import", "The file could not be read.");
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
        continue;
      }
      if (next.type === "not_json") throw new AppError("bad_request:import", "The file is not JSON. Choose a .json file made by Export.");
      yield next;
      if (next.type === "end") return;
    }
  } finally {
    if (!exited) {
      void worker.terminate();
      await once(worker, "exit").catch(() => {});
    }
  }
}
