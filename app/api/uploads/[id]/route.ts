import fs from "node:fs/promises";
import { apiHandler } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { getAttachmentOrThrow } from "@/lib/db/attachments";
import { blobPath } from "@/lib/storage/blob-store";

type Ctx = { params: Promise<{ id: string }> };

// GET /api/uploads/:id – the image bytes, to their owner only
export const GET = apiHandler<Ctx>(async (_req, { params }) => {
  const userId = await requireUserId();
  const { id } = await params;
  const attachment = await getAttachmentOrThrow({ id, userId });
  const bytes = await fs.readFile(blobPath(attachment.storageKey));
  return new Response(bytes, {
    headers: {
      "content-type": attachment.mediaType,
      "content-length": String(bytes.length),
      "x-content-type-options": "nosniff",
      // Content never changes under an id; private because it is per user.
      "cache-control": "private, max-age=31536000, immutable",
      "content-security-policy": "default-src 'none'; sandbox",
    },
  });
});
