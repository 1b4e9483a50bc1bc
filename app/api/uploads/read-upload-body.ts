import { readBodyOrThrow } from "@/lib/api/read-body";

/** Multipart framing (boundaries, part headers) allowed on top of the file itself. */
const FRAMING_BYTES = 64 * 1024;

/**
 * The uploaded bytes: the multipart field "file", or the raw body. At most
 * `maxBytes` (plus framing) is ever read, refused by the declared length
 * before reading and while reading (see readBodyOrThrow).
 */
export async function readUploadBody(req: Request, maxBytes: number): Promise<Uint8Array | null> {
  const raw = await readBodyOrThrow(req, { maxBytes: maxBytes + FRAMING_BYTES, surface: "upload", what: "file", shownLimit: maxBytes });
  const type = req.headers.get("content-type") ?? "";
  if (!type.startsWith("multipart/form-data")) return raw.length ? raw : null;
  const form = await new Response(raw, { headers: { "content-type": type } }).formData().catch(() => null);
  const file = form?.get("file");
  if (!file || typeof file === "string") return null;
  return new Uint8Array(await file.arrayBuffer());
}
