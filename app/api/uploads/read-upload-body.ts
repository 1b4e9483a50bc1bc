import { readBodyOrThrow } from "@/lib/api/read-body";

/** Multipart framing (boundaries, part headers) allowed on top of the file itself. */
const FRAMING_BYTES = 64 * 1024;

/**
 * The uploaded bytes and the file's name: the multipart field "file" (its
 * file name), or the raw body (the name from `?name=` or an
 * `X-File-Name` header, if any). At most `maxBytes` (plus framing) is ever
 * read, refused by the declared length before reading and while reading
 * (see readBodyOrThrow).
 */
export async function readUploadBody(req: Request, maxBytes: number): Promise<{ bytes: Uint8Array; fileName: string | null } | null> {
  const raw = await readBodyOrThrow(req, { maxBytes: maxBytes + FRAMING_BYTES, surface: "upload", what: "file", shownLimit: maxBytes });
  const type = req.headers.get("content-type") ?? "";
  if (!type.startsWith("multipart/form-data")) {
    const fileName = new URL(req.url).searchParams.get("name") ?? req.headers.get("x-file-name");
    return raw.length ? { bytes: raw, fileName } : null;
  }
  const form = await new Response(raw, { headers: { "content-type": type } }).formData().catch(() => null);
  const file = form?.get("file");
  if (!file || typeof file === "string") return null;
  return { bytes: new Uint8Array(await file.arrayBuffer()), fileName: file.name || null };
}
