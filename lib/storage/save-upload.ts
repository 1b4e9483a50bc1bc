import "server-only";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { findAttachmentBySha, saveMediaAttachment, storageKeysInUse, upsertAttachment, type AttachmentRecord, type DerivedRecordInput, type GeneratedFrom } from "@/lib/db/attachments";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { decodeMedia } from "@/lib/media/decode-media";
import { sniffUpload, type SniffedUpload } from "@/lib/media/sniff";
import { MediaRefusal } from "@/lib/media/types";
import { ensureBlob, removeBlobs, storageKeyFor, writeBlob } from "./blob-store";
import { normalizeImage } from "./normalize-image";

const imageCaps = () => ({ maxBytes: env.UPLOAD_MAX_BYTES, maxPixels: env.UPLOAD_MAX_PIXELS, maxSide: env.UPLOAD_MAX_SIDE });

/**
 * Validates an upload of any kind and records it for the user (the same
 * bytes uploaded twice are one attachment, and their derived parts are
 * reused). What it is comes from its bytes (see sniffUpload); a still image
 * is normalised and stored as before; anything else (video, audio, PDF, a
 * table) is stored as it came, content-addressed, and read by its reader in
 * a separate process into derived images (frames, pages, a chart, a
 * spectrogram) and text, stored with it. Files are written before rows, and
 * a refusal at any step leaves nothing behind.
 */
export async function saveUpload({ userId, bytes, fileName }: { userId: string; bytes: Uint8Array; fileName?: string | null }): Promise<AttachmentRecord> {
  if (bytes.byteLength === 0) throw new AppError("bad_request:upload", "The file is empty.");
  const kind = await identify(bytes, fileName);
  if (kind.kind === "image") return saveImage(userId, bytes);
  return saveMedia(userId, bytes, kind);
}

async function identify(bytes: Uint8Array, fileName?: string | null): Promise<SniffedUpload> {
  let kind: SniffedUpload;
  try {
    kind = sniffUpload(bytes, fileName);
  } catch (err) {
    if (err instanceof MediaRefusal) throw new AppError(err.code, err.message);
    throw err;
  }
  if (kind.kind !== "image") return kind;
  // An animated GIF or WebP is a video: its frames, not only the first.
  const meta = await sharp(bytes, { limitInputPixels: false, pages: 1 }).metadata().catch(() => null);
  if (meta && (meta.format === "gif" || meta.format === "webp") && (meta.pages ?? 1) > 1) {
    return meta.format === "gif"
      ? { kind: "video", format: "gif", mediaType: "image/gif", ext: "gif" }
      : { kind: "video", format: "webp", mediaType: "image/webp", ext: "webp" };
  }
  return kind;
}

/** Bytes hashed per turn of the event loop: about a millisecond of SHA-256. */
const HASH_SLICE_BYTES = 1024 * 1024;

/**
 * SHA-256 of a large file a slice at a time, yielding to the event loop
 * between slices: hashing a 12 MB video in one call held every other
 * request (another user's answer) for 10–30 ms.
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const hash = createHash("sha256");
  for (let at = 0; at < bytes.byteLength; at += HASH_SLICE_BYTES) {
    if (at) await new Promise((resolve) => setImmediate(resolve));
    hash.update(bytes.subarray(at, at + HASH_SLICE_BYTES));
  }
  return hash.digest("hex");
}

/** Stores an image as the user's (normalised, content-addressed); `generated` marks one the app drew. */
export async function saveImage(userId: string, bytes: Uint8Array, generated?: GeneratedFrom): Promise<AttachmentRecord> {
  const image = await normalizeImage(bytes, imageCaps());
  const storageKey = storageKeyFor(image.sha256, image.ext);
  await writeBlob(storageKey, image.bytes);
  const attachment = await upsertAttachment({
    userId,
    sha256: image.sha256,
    mediaType: image.mediaType,
    width: image.width,
    height: image.height,
    byteSize: image.bytes.length,
    storageKey,
    ...(generated ? { generated } : {}),
  });
  await ensureBlob(storageKey, image.bytes);
  return attachment;
}

async function saveMedia(userId: string, bytes: Uint8Array, kind: Exclude<SniffedUpload, { kind: "image" }>): Promise<AttachmentRecord> {
  const sha256 = await sha256Hex(bytes);
  const cached = await findAttachmentBySha({ userId, sha256 });
  if (cached) return cached;

  const work = path.join(env.DATA_DIR, "tmp", `media-${randomBytes(8).toString("hex")}`);
  await fs.mkdir(work, { recursive: true, mode: 0o700 });
  const written: { key: string; bytes: Uint8Array }[] = [];
  try {
    const input = path.join(work, `source.${kind.ext}`);
    await fs.writeFile(input, bytes, { mode: 0o600 });
    const { info, images } = await decodeMedia({ kind: kind.kind, format: kind.format, input, outDir: work });

    // Each derived image is fitted like an upload (pixel cap, longest side), then stored content-addressed.
    const derived: DerivedRecordInput[] = [];
    for (const [i, img] of images.entries()) {
      const fitted = await normalizeImage(await fs.readFile(path.join(work, img.file)), imageCaps());
      const key = storageKeyFor(fitted.sha256, fitted.ext);
      written.push({ key, bytes: fitted.bytes });
      derived.push({
        sha256: createHash("sha256").update(`${sha256}:${i}:${fitted.sha256}`).digest("hex"),
        storageKey: key,
        mediaType: fitted.mediaType,
        width: fitted.width,
        height: fitted.height,
        byteSize: fitted.bytes.length,
        label: img.label,
        time: img.time,
        page: img.page,
      });
    }
    const storageKey = storageKeyFor(sha256, kind.ext);
    written.push({ key: storageKey, bytes });
    for (const w of written) await writeBlob(w.key, w.bytes);
    const video = info.kind === "video" ? info : null;
    const attachment = await saveMediaAttachment({
      userId,
      source: {
        sha256,
        mediaType: kind.mediaType,
        width: video?.width ?? 0,
        height: video?.height ?? 0,
        byteSize: bytes.byteLength,
        storageKey,
        mediaInfo: JSON.stringify(info),
      },
      derived,
    });
    for (const w of written) await ensureBlob(w.key, w.bytes);
    return attachment;
  } catch (err) {
    // Nothing half-saved: files this upload wrote and no row uses go again.
    if (written.length) await removeBlobs([...new Set(written.map((w) => w.key))], { stillUsed: storageKeysInUse }).catch(() => {});
    throw err;
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

