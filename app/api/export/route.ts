import { apiHandler } from "@/lib/api/handler";
import { exportResponse } from "@/lib/archive/export-response";
import { requireUserId } from "@/lib/auth/session";
import { exportQuerySchema } from "./schema";

export const dynamic = "force-dynamic";

// GET /api/export?format=json|markdown – download all of the caller's conversations
export const GET = apiHandler(async (req) => {
  const { format } = exportQuerySchema.parse(Object.fromEntries(new URL(req.url).searchParams));
  const userId = await requireUserId();
  return exportResponse({ userId, format });
});
