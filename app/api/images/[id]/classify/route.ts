import { apiHandler, json, parseJson } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { classifyImage } from "@/lib/images/classify-image";
import { classifySchema } from "../../schema";

type Ctx = { params: Promise<{ id: string }> };

// POST /api/images/:id/classify – CLIP zero-shot: {labels:[...]} → {labels:[{label, probability}]}
export const POST = apiHandler<Ctx>(async (req, { params }) => {
  const userId = await requireUserId();
  const { id } = await params;
  const { labels } = await parseJson(req, classifySchema);
  return json({ labels: await classifyImage({ id, userId, labels }) });
});
