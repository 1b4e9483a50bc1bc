import fs from "node:fs/promises";
import { apiHandler } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { getAttachmentOrThrow } from "@/lib/db/attachments";
import { blobPath } from "@/lib/storage/blob-store";

type Ctx = { params: Promise<{ id: string }> };

// GET /api/uploads/:id – the file's bytes (an image, video, audio, PDF or table), to their owner only; one byte range if asked (players seek with it)
export const GET = apiHandler<Ctx>(async (req, { params }) => {
  const userId = await requireUserId();
  const { id } = await params;
  const attachment = await getAttachmentOrThrow({ id, userId });
  const bytes = await fs.readFile(blobPath(attachment.storageKey));
  const headers: Record<string, string> = {
    "content-type": attachment.mediaType,
    "x-content-type-options": "nosniff",
    "accept-ranges": "bytes",
    // Content never changes under an id; private because it is per user.
    "cache-control": "private, max-age=31536000, immutable",
    "content-security-policy": "default-src 'none'; sandbox",
  };
  const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.get("range") ?? "");
  if (range && (range[1] || range[2])) {
    const size = bytes.length;
    const start = range[1] ? Number(range[1]) : Math.max(0, size - Number(range[2]));
    const end = range[1] && range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
    if (start >= size || start > end) return new Response(null, { status: 416, headers: { ...headers, "content-range": `bytes */${size}` } });
    const part = bytes.subarray(start, end + 1);
    return new Response(part, { status: 206, headers: { ...headers, "content-length": String(part.length), "content-range": `bytes ${start}-${end}/${size}` } });
  }
  return new Response(bytes, { headers: { ...headers, "content-length": String(bytes.length) } });
});
