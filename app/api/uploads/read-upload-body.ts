import { readBodyOrThrow } from "@/lib/api/read-body";
import { multipartField } from "@/lib/http/multipart";

/** Multipart framing (boundaries, part headers) allowed on top of the file itself. */
const FRAMING_BYTES = 64 * 1024;

/**
 * The uploaded bytes and the file's name: the multipart field "file" (its
 * file name), or the raw body (the name from `?name=` or an
 * `X-File-Name` header, if any). At most `maxBytes` (plus framing) is ever
 * read, refused by the declared length before reading and while reading
 * (see readBodyOrThrow). The file is a view into the body that was read
 * (lib/http/multipart.ts finds it with native searches, no copy), so the
 * event loop is not held while a large upload is taken apart.
 */
export async function readUploadBody(req: Request, maxBytes: number): Promise<{ bytes: Uint8Array; fileName: string | null } | null> {
  const raw = await readBodyOrThrow(req, { maxBytes: maxBytes + FRAMING_BYTES, surface: "upload", what: "file", shownLimit: maxBytes });
  const type = req.headers.get("content-type") ?? "";
  if (!type.startsWith("multipart/form-data")) {
    const fileName = new URL(req.url).searchParams.get("name") ?? req.headers.get("x-file-name");
    return raw.length ? { bytes: raw, fileName } : null;
  }
  const file = multipartField(raw, type, "file");
  if (!file || file === "failure" || file.fileName === null) return null;
  return { bytes: file.bytes, fileName: file.fileName || null };
}
