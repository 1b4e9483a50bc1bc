import { apiHandler, json, parseJson } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { groupByLabels } from "@/lib/images/search-images";
import { classifySchema } from "../schema";

// POST /api/images/classify – the caller's whole library grouped by CLIP zero-shot labels: {labels:[...]} → {groups:[{label, items}]}
export const POST = apiHandler(async (req) => {
  const userId = await requireUserId();
  const { labels } = await parseJson(req, classifySchema);
  return json({ groups: await groupByLabels({ userId, labels, limit: 100 }) });
});
