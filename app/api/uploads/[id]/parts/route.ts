import { apiHandler, json } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { getMediaAttachmentOrThrow } from "@/lib/db/attachments";
import type { MediaInfo } from "@/lib/media/types";

type Ctx = { params: Promise<{ id: string }> };

// GET /api/uploads/:id/parts – what was read from a video, audio file, PDF or table: its facts and derived images, to their owner only
export const GET = apiHandler<Ctx>(async (_req, { params }) => {
  const userId = await requireUserId();
  const { id } = await params;
  const media = await getMediaAttachmentOrThrow({ id, userId });
  return json({
    id: media.id,
    mediaType: media.mediaType,
    info: JSON.parse(media.mediaInfo) as MediaInfo,
    parts: media.derived.map((d) => ({ id: d.id, url: `/api/uploads/${d.id}`, label: d.label, time: d.time, page: d.page })),
  });
});
