import "server-only";
import { createHash } from "node:crypto";
import sharp from "sharp";
import { AppError } from "@/lib/errors";

export type ImageKind = "png" | "jpeg" | "webp" | "gif";

/** Smallest side we accept: below this there is nothing for a vision model to see. */
export const MIN_SIDE = 8;

/** What the bytes are, from their magic numbers (never the name or declared type). */
export function sniffImage(bytes: Uint8Array): ImageKind | "svg" | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 512));
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return "png";
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  if (b.length >= 6 && /^GIF8[79]a$/.test(b.subarray(0, 6).toString("latin1"))) return "gif";
  if (b.length >= 12 && b.subarray(0, 4).toString("latin1") === "RIFF" && b.subarray(8, 12).toString("latin1") === "WEBP") return "webp";
  const head = b.toString("utf8").replace(/^\uFEFF/, "").trimStart().slice(0, 300).toLowerCase();
  if (head.startsWith("<svg") || (head.startsWith("<?xml") && head.includes("<svg")) || head.includes("<svg")) return "svg";
  return null;
}

export interface NormalizedImage {
  bytes: Buffer;
  sha256: string;
  mediaType: "image/png" | "image/jpeg";
  ext: "png" | "jpg";
  width: number;
  height: number;
}

/**
 * Validates an upload and turns it into what the model and the browser see:
 * type checked by its bytes, pixel count checked before decoding (a
 * decompression bomb is refused from its header), EXIF orientation applied,
 * metadata stripped, the first frame of an animation, downscaled so the
 * longest side is at most `maxSide`. JPEG stays JPEG; everything else
 * becomes PNG (lossless, no alpha surprises for the model: flattened on white).
 */
export async function normalizeImage(
  input: Uint8Array,
  { maxBytes, maxPixels, maxSide }: { maxBytes: number; maxPixels: number; maxSide: number },
): Promise<NormalizedImage> {
  if (input.byteLength > maxBytes) {
    throw new AppError("payload_too_large:upload", `The file is ${mib(input.byteLength)}; the limit is ${mib(maxBytes)}.`);
  }
  if (input.byteLength === 0) throw new AppError("bad_request:upload", "The file is empty.");
  const kind = sniffImage(input);
  if (kind === "svg") {
    throw new AppError("unsupported_media_type:upload", "SVG images are not accepted (they can carry scripts). Export it as PNG and try again.");
  }
  if (!kind) {
    throw new AppError("unsupported_media_type:upload", "This is not a supported image. Upload a PNG, JPEG, WebP or GIF.");
  }

  const source = () => sharp(input, { limitInputPixels: maxPixels, failOn: "truncated", pages: 1, animated: false });
  let meta: sharp.Metadata;
  try {
    // Reads the header only (no pixels are decoded), so the dimensions of a
    // decompression bomb are known before anything large is allocated.
    meta = await sharp(input, { limitInputPixels: false, pages: 1 }).metadata();
  } catch {
    throw new AppError("bad_request:upload", `The ${kind.toUpperCase()} file is damaged and cannot be read.`);
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width * height > maxPixels) {
    throw new AppError(
      "payload_too_large:upload",
      `The image is ${width}×${height} (${(width * height / 1e6).toFixed(0)} megapixels); the limit is ${(maxPixels / 1e6).toFixed(0)} megapixels.`,
    );
  }
  if (width < MIN_SIDE || height < MIN_SIDE) {
    throw new AppError("bad_request:upload", `The image is only ${width}×${height} pixels; it must be at least ${MIN_SIDE}×${MIN_SIDE}.`);
  }

  const jpeg = kind === "jpeg";
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    const pipeline = source()
      .rotate() // apply EXIF orientation; output carries no metadata
      .resize({ width: maxSide, height: maxSide, fit: "inside", withoutEnlargement: true });
    out = jpeg
      ? await pipeline.jpeg({ quality: 92, mozjpeg: false }).toBuffer({ resolveWithObject: true })
      : await pipeline.flatten({ background: "#ffffff" }).png({ compressionLevel: 6 }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    const message = (err as Error).message;
    if (/pixel limit/i.test(message)) {
      throw new AppError("payload_too_large:upload", `The image has more than ${(maxPixels / 1e6).toFixed(0)} megapixels.`);
    }
    throw new AppError("bad_request:upload", `The ${kind.toUpperCase()} file is damaged or incomplete and cannot be decoded.`);
  }
  return {
    bytes: out.data,
    sha256: createHash("sha256").update(out.data).digest("hex"),
    mediaType: jpeg ? "image/jpeg" : "image/png",
    ext: jpeg ? "jpg" : "png",
    width: out.info.width,
    height: out.info.height,
  };
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
