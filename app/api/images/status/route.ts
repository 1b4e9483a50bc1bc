import { apiHandler, json } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { getImageIndexStatus } from "@/lib/db/image-index";

// GET /api/images/status – how many of the caller's images are indexed: {total, indexed, captioned}
export const GET = apiHandler(async () => {
  const userId = await requireUserId();
  return json(await getImageIndexStatus({ userId }), { headers: { "cache-control": "no-store" } });
});
