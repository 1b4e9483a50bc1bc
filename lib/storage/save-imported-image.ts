import "server-only";
import { createHash } from "node:crypto";
import fs from "node:fs/promises";
import sharp from "sharp";
import { env } from "@/lib/env";
import { blobPath, storageKeyFor, writeBlob } from "./blob-store";
import { normalizeImage, type NormalizedImage } from "./normalize-image";

/**
 * Checks an image from an import exactly as an upload is checked (type by
 * its bytes, size, pixel count, a full decode) and writes it to the blob
 * store. Returns what its attachment row needs, and whether the file is
 * new (for the caller to remove if its import fails). Throws the upload's
 * AppError for a bad image.
 *
 * Bytes that are already what an upload stores are kept as they are, so an
 * export imported again is byte-for-byte the same image: PNG output is
 * stable under normalisation; a JPEG is kept when it is a plain baseline
 * sRGB/grey JPEG with no metadata and nothing after its end marker (what
 * the upload path writes), and otherwise normalised like an upload.
 */
export async function saveImportedImage(
  bytes: Uint8Array,
): Promise<Omit<NormalizedImage, "bytes" | "ext"> & { storageKey: string; byteSize: number; addedFile: boolean }> {
  const normalized = await normalizeImage(bytes, { maxBytes: env.UPLOAD_MAX_BYTES, maxPixels: env.UPLOAD_MAX_PIXELS, maxSide: env.UPLOAD_MAX_SIDE });
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const keep = sha256 === normalized.sha256 || (normalized.mediaType === "image/jpeg" && (await isStoredFormJpeg(bytes, normalized)));
  const image: NormalizedImage = keep ? { ...normalized, bytes: Buffer.from(bytes), sha256 } : normalized;
  const storageKey = storageKeyFor(image.sha256, image.ext);
  const addedFile = await fs.access(blobPath(storageKey)).then(
    () => false,
    () => true,
  );
  await writeBlob(storageKey, image.bytes);
  const { sha256: sha, mediaType, width, height } = image;
  return { sha256: sha, mediaType, width, height, storageKey, byteSize: image.bytes.length, addedFile };
}

async function isStoredFormJpeg(bytes: Uint8Array, normalized: NormalizedImage): Promise<boolean> {
  const n = bytes.byteLength;
  if (n < 4 || bytes[n - 2] !== 0xff || bytes[n - 1] !== 0xd9) return false;
  const meta = await sharp(bytes, { pages: 1 }).metadata();
  return (
    meta.format === "jpeg" &&
    !meta.isProgressive &&
    (meta.space === "srgb" || meta.space === "b-w") &&
    !meta.exif &&
    !meta.icc &&
    !meta.iptc &&
    !meta.xmp &&
    !meta.orientation &&
    meta.width === normalized.width &&
    meta.height === normalized.height
  );
}
