import { apiHandler, json } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { getAttachmentOrThrow } from "@/lib/db/attachments";
import { similarImages } from "@/lib/images/search-images";

type Ctx = { params: Promise<{ id: string }> };

// GET /api/images/:id/similar – the caller's images that look most like this one ("more like this")
export const GET = apiHandler<Ctx>(async (_req, { params }) => {
  const userId = await requireUserId();
  const { id } = await params;
  await getAttachmentOrThrow({ id, userId });
  return json({ items: await similarImages({ id, userId, limit: 24 }) });
});
