import { apiHandler, json } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { searchImages } from "@/lib/images/search-images";
import { imageQuerySchema } from "./schema";

// GET /api/images?q=&cursor=&limit=&conversationId=&from=&to= – the caller's images: newest first, or ranked by q
export const GET = apiHandler(async (req) => {
  const userId = await requireUserId();
  const query = imageQuerySchema.parse(Object.fromEntries(new URL(req.url).searchParams));
  return json(await searchImages({ userId, ...query }));
});
