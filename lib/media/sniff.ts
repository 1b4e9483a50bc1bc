import { MediaRefusal, type DataFormat, type MediaKind } from "./types";

/** What an upload is, from its bytes (and, for text, which has no magic number, its name). */
export type SniffedUpload =
  | { kind: "image" }
  | { kind: Exclude<MediaKind, "data">; format: string; mediaType: string; ext: string }
  | { kind: "data"; format: DataFormat; mediaType: string; ext: string };

type Family = "image" | "pdf" | "zip" | "mp4" | "matroska" | "wav" | "ogg" | "flac" | "mp3" | "text";

/** File name extensions this app knows, and the family of bytes each must have. */
const EXTENSION_FAMILY: Record<string, Family> = {
  png: "image", jpg: "image", jpeg: "image", gif: "image", webp: "image",
  pdf: "pdf",
  xlsx: "zip",
  mp4: "mp4", m4v: "mp4", mov: "mp4", m4a: "mp4",
  webm: "matroska", mkv: "matroska",
  wav: "wav",
  ogg: "ogg", oga: "ogg", opus: "ogg",
  flac: "flac",
  mp3: "mp3",
  csv: "text", tsv: "text", json: "text",
};

const FAMILY_NAME: Record<Family, string> = {
  image: "an image",
  pdf: "a PDF document",
  zip: "an XLSX workbook",
  mp4: "an MP4/MOV/M4A file",
  matroska: "a WebM/MKV file",
  wav: "a WAV file",
  ogg: "an Ogg file",
  flac: "a FLAC file",
  mp3: "an MP3 file",
  text: "a text table (CSV, TSV or JSON)",
};

const ascii = (b: Uint8Array, start: number, end: number) => Buffer.from(b.buffer, b.byteOffset + start, Math.max(0, Math.min(end, b.length) - start)).toString("latin1");

/** The family of these bytes from their magic numbers; null for anything unknown. */
function familyOf(b: Uint8Array): Family | null {
  if (b.length >= 8 && b[0] === 0x89 && ascii(b, 1, 4) === "PNG") return "image";
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image";
  if (/^GIF8[79]a$/.test(ascii(b, 0, 6))) return "image";
  if (ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 12) === "WEBP") return "image";
  if (ascii(b, 0, 5) === "%PDF-") return "pdf";
  if (ascii(b, 0, 4) === "PK\x03\x04") return "zip";
  if (ascii(b, 4, 8) === "ftyp") return "mp4";
  if (b.length >= 4 && b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return "matroska";
  if (ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 12) === "WAVE") return "wav";
  if (ascii(b, 0, 4) === "OggS") return "ogg";
  if (ascii(b, 0, 4) === "fLaC") return "flac";
  if (ascii(b, 0, 3) === "ID3" || (b.length >= 2 && b[0] === 0xff && (b[1]! & 0xe0) === 0xe0 && (b[1]! & 0x06) !== 0)) return "mp3";
  if (looksLikeText(b)) {
    // SVG is text but an image to the user: the image path refuses it, saying why.
    const head = Buffer.from(b.subarray(0, 1024)).toString("utf8").toLowerCase();
    return head.includes("<svg") ? "image" : "text";
  }
  return null;
}

/** UTF-8 (or ASCII) without NUL bytes in its first 64 KiB. */
function looksLikeText(b: Uint8Array): boolean {
  const head = b.subarray(0, 64 * 1024);
  if (!head.length || head.includes(0)) return false;
  try {
    // A multi-byte character cut at the 64 KiB boundary is not an error.
    new TextDecoder("utf-8", { fatal: true }).decode(head.length < b.length ? head.subarray(0, head.length - 4) : head);
    return true;
  } catch {
    return false;
  }
}

export function extensionOf(name: string | null | undefined): string {
  const m = /\.([A-Za-z0-9]{1,8})$/.exec(name ?? "");
  return m ? m[1]!.toLowerCase() : "";
}

/**
 * What an upload is. The bytes decide; the file name only names a text
 * table's format (CSV, TSV and JSON have no magic number). A known
 * extension that the bytes contradict (`report.pdf` that is a PNG) is
 * refused: the user meant something else than what arrived.
 */
export function sniffUpload(bytes: Uint8Array, fileName?: string | null): SniffedUpload {
  const family = familyOf(bytes);
  const ext = extensionOf(fileName);
  const claimed = EXTENSION_FAMILY[ext];
  // A name the bytes contradict is a 400 naming both ("x.csv" that is binary, "x.pdf" that is a PNG); bytes of
  // no kind we read under an image's name stay what they always were for images: not a supported file (415).
  if (claimed && family !== claimed && (family || claimed !== "image")) {
    throw new MediaRefusal(
      "bad_request:upload",
      `The file is named ${JSON.stringify(fileName)} but its bytes are not ${FAMILY_NAME[claimed]}${family ? ` (they are ${FAMILY_NAME[family]})` : ""}.`,
    );
  }
  switch (family) {
    case "image":
      return { kind: "image" };
    case "pdf":
      return { kind: "pdf", format: "pdf", mediaType: "application/pdf", ext: "pdf" };
    case "zip":
      if (!ascii(bytes, 0, bytes.length).includes("xl/workbook.xml")) break;
      return { kind: "data", format: "xlsx", mediaType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ext: "xlsx" };
    case "mp4": {
      const brand = ascii(bytes, 8, 12);
      if (ext === "m4a" || /^M4[AB] $/.test(brand)) return { kind: "audio", format: "m4a", mediaType: "audio/mp4", ext: "m4a" };
      if (brand === "qt  ") return { kind: "video", format: "mov", mediaType: "video/quicktime", ext: "mov" };
      return { kind: "video", format: "mp4", mediaType: "video/mp4", ext: "mp4" };
    }
    case "matroska":
      return ascii(bytes, 0, 64).includes("webm")
        ? { kind: "video", format: "webm", mediaType: "video/webm", ext: "webm" }
        : { kind: "video", format: "mkv", mediaType: "video/x-matroska", ext: "mkv" };
    case "wav":
      return { kind: "audio", format: "wav", mediaType: "audio/wav", ext: "wav" };
    case "ogg":
      return { kind: "audio", format: "ogg", mediaType: "audio/ogg", ext: "ogg" };
    case "flac":
      return { kind: "audio", format: "flac", mediaType: "audio/flac", ext: "flac" };
    case "mp3":
      return { kind: "audio", format: "mp3", mediaType: "audio/mpeg", ext: "mp3" };
    case "text": {
      const trimmed = Buffer.from(bytes.subarray(0, 256)).toString("utf8").replace(/^\uFEFF/, "").trimStart();
      const format: DataFormat | null = ext === "csv" || ext === "tsv" || ext === "json" ? ext : trimmed.startsWith("[") ? "json" : null;
      if (!format) break;
      const mediaType = format === "json" ? "application/json" : format === "tsv" ? "text/tab-separated-values" : "text/csv";
      return { kind: "data", format, mediaType, ext: format };
    }
  }
  throw new MediaRefusal(
    "unsupported_media_type:upload",
    "This is not a supported file. Upload an image (PNG, JPEG, WebP, GIF), a video (MP4, WebM, MOV, MKV), audio (WAV, MP3, Ogg, FLAC, M4A), a PDF or a table (CSV, TSV, JSON, XLSX).",
  );
}
