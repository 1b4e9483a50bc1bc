import "server-only";
import { upsertAttachment, type AttachmentRecord, type GeneratedFrom } from "@/lib/db/attachments";
import { env } from "@/lib/env";
import { ensureBlob, storageKeyFor, writeBlob } from "@/lib/storage/blob-store";
import { normalizeImage } from "@/lib/storage/normalize-image";

/**
 * Stores a generated PNG as the user's image exactly as an upload is stored
 * (checked and normalised by the upload path's rules, content-addressed, one
 * attachment per user and picture), marked with the prompt, seed and
 * generator it came from. Its row's insert queues it for the image library's
 * indexer (CLIP embedding, caption), and its prompt becomes part of its
 * search text.
 */
export async function saveGeneratedImage({ userId, png, generated }: { userId: string; png: Uint8Array; generated: GeneratedFrom }): Promise<AttachmentRecord> {
  const image = await normalizeImage(png, { maxBytes: env.UPLOAD_MAX_BYTES, maxPixels: env.UPLOAD_MAX_PIXELS, maxSide: env.UPLOAD_MAX_SIDE });
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
    generated,
  });
  await ensureBlob(storageKey, image.bytes);
  return attachment;
}
