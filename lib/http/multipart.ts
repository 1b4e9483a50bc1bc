/**
 * One field of a `multipart/form-data` body that is already in memory,
 * found with `Buffer.indexOf` (native) and returned as a view of the body:
 * no copy. `new Response(body).formData()` (undici's parser) walks the body
 * in JavaScript and copies the file twice, which on a 12 MB upload held the
 * server's event loop for 100–360 ms at a time (bench/RESULTS.md, "Media
 * uploads"): every other user's answer waited that long.
 *
 * The grammar is the one undici's parser (and browsers, and `FormData` in
 * Node) use: an optional preamble, `--boundary` lines, part headers ending in
 * an empty line, `Content-Disposition: form-data; name="…"[; filename="…"]`,
 * the part's bytes up to CRLF `--boundary`, and a closing `--boundary--`.
 * A body that does not follow it (no closing delimiter: a truncated upload)
 * is `"failure"`, as it is to undici.
 */

export interface MultipartField {
  /** The field's bytes: a view into the body, not a copy (base64 parts are decoded into their own buffer). */
  bytes: Uint8Array;
  /** The part's file name: null for a plain (non-file) field, `""` for a file part with an empty name. */
  fileName: string | null;
  contentType: string | null;
}

const CRLF = Buffer.from("\r\n");
const HEADERS_END = Buffer.from("\r\n\r\n");
/** Longest header block of one part accepted (undici has no limit; a browser's is a few hundred bytes). */
const MAX_HEADER_BYTES = 16 * 1024;

/** The boundary of a `multipart/form-data` Content-Type, or null when it has none (or another type). */
export function multipartBoundary(contentType: string): string | null {
  if (!/^\s*multipart\/form-data\s*(;|$)/i.test(contentType)) return null;
  const m = /;\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^;\s"]{1,70}))/i.exec(contentType);
  return m ? (m[1] ?? m[2]!) : null;
}

/**
 * The first field named `name` of the multipart body, `null` when there is no
 * such field, `"failure"` when the body is not well-formed multipart (every
 * part up to the closing delimiter is checked, as undici does before it
 * answers anything).
 */
export function multipartField(body: Uint8Array, contentType: string, name: string): MultipartField | null | "failure" {
  const boundary = multipartBoundary(contentType);
  if (!boundary) return "failure";
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const dash = Buffer.from(`--${boundary}`, "latin1");
  const delimiter = Buffer.from(`\r\n--${boundary}`, "latin1");

  // The first delimiter: at the very start, or after a preamble ending in CRLF.
  let pos: number;
  if (buf.subarray(0, dash.length).equals(dash)) pos = dash.length;
  else {
    const at = buf.indexOf(delimiter);
    if (at < 0) return "failure";
    pos = at + delimiter.length;
  }
  let found: MultipartField | null = null;
  for (;;) {
    // After a delimiter: `--` closes the body, CRLF starts a part (transport padding allowed before either).
    while (buf[pos] === 0x20 || buf[pos] === 0x09) pos++;
    if (buf[pos] === 0x2d && buf[pos + 1] === 0x2d) return found;
    if (buf[pos] !== 0x0d || buf[pos + 1] !== 0x0a) return "failure";
    pos += 2;
    const headersEnd = buf[pos] === 0x0d && buf[pos + 1] === 0x0a ? pos : buf.indexOf(HEADERS_END, pos);
    if (headersEnd < 0 || headersEnd - pos > MAX_HEADER_BYTES) return "failure";
    const headers = parsePartHeaders(buf.subarray(pos, headersEnd));
    if (!headers) return "failure";
    const start = headersEnd === pos ? pos + 2 : headersEnd + HEADERS_END.length;
    const end = buf.indexOf(delimiter, start);
    if (end < 0) return "failure";
    if (!found && headers.name === name) {
      let bytes: Uint8Array = buf.subarray(start, end);
      if (headers.encoding?.toLowerCase() === "base64") bytes = Buffer.from(Buffer.from(bytes).toString("latin1"), "base64");
      found = { bytes, fileName: headers.fileName, contentType: headers.contentType };
    }
    pos = end + delimiter.length;
  }
}

interface PartHeaders {
  name: string;
  fileName: string | null;
  contentType: string | null;
  encoding: string | null;
}

/** A part's header lines (without the empty line that ends them); null when they are malformed or name no field. */
function parsePartHeaders(block: Buffer): PartHeaders | null {
  let name: string | null = null;
  let fileName: string | null = null;
  let contentType: string | null = null;
  let encoding: string | null = null;
  let pos = 0;
  while (pos < block.length) {
    let eol = block.indexOf(CRLF, pos);
    if (eol < 0) eol = block.length;
    const line = block.subarray(pos, eol);
    pos = eol + 2;
    const colon = line.indexOf(0x3a);
    if (colon <= 0) return null;
    const header = line.subarray(0, colon).toString("latin1").trim().toLowerCase();
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(header)) return null;
    const value = line.subarray(colon + 1);
    if (header === "content-disposition") {
      const disposition = parseDisposition(value);
      if (!disposition) return null;
      ({ name, fileName } = disposition);
    } else if (header === "content-type") contentType = value.toString("latin1").trim();
    else if (header === "content-transfer-encoding") encoding = value.toString("latin1").trim();
  }
  return name === null ? null : { name, fileName, contentType, encoding };
}

/** `form-data; name="…"[; filename="…"]`: names are UTF-8 with `"`, CR and LF sent as %22, %0D, %0A (the HTML standard's encoding). */
function parseDisposition(value: Buffer): { name: string; fileName: string | null } | null {
  const text = value.toString("utf8").trim();
  const m = /^form-data\s*;\s*name="([^"\r\n]*)"(?:\s*;\s*filename\*?="([^"\r\n]*)")?/i.exec(text);
  if (!m) return null;
  const decode = (s: string) => s.replace(/%0A/gi, "\n").replace(/%0D/gi, "\r").replace(/%22/g, '"');
  return { name: decode(m[1]!), fileName: m[2] === undefined ? null : decode(m[2]) };
}
