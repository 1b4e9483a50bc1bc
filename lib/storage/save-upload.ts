import "server-only";
import { upsertAttachment, type AttachmentRecord } from "@/lib/db/attachments";
import { env } from "@/lib/env";
import { ensureBlob, storageKeyFor, writeBlob } from "./blob-store";
import { normalizeImage } from "./normalize-image";

/**
 * Validates and normalises an uploaded image, stores it content-addressed
 * and records it for the user (the same image uploaded twice is one
 * attachment). The file is written before the row, so a row never points
 * at a missing file, and checked again after it (another instance may have
 * been removing the same bytes at that moment; see removeBlobs).
 */
export async function saveUpload({ userId, bytes }: { userId: string; bytes: Uint8Array }): Promise<AttachmentRecord> {
  const image = await normalizeImage(bytes, {
    maxBytes: env.UPLOAD_MAX_BYTES,
    maxPixels: env.UPLOAD_MAX_PIXELS,
    maxSide: env.UPLOAD_MAX_SIDE,
  });
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
  });
  await ensureBlob(storageKey, image.bytes);
  return attachment;
}
