import { exportQuerySchema } from "@/app/api/export/schema";
import { apiHandler } from "@/lib/api/handler";
import { exportResponse } from "@/lib/archive/export-response";
import { requireUserId } from "@/lib/auth/session";

export const dynamic = "force-dynamic";

type Ctx = { params: Promise<{ id: string }> };

// GET /api/conversations/:id/export?format=json|markdown – download one conversation (404 for another user's id)
export const GET = apiHandler<Ctx>(async (req, { params }) => {
  const { format } = exportQuerySchema.parse(Object.fromEntries(new URL(req.url).searchParams));
  const userId = await requireUserId();
  const { id } = await params;
  return exportResponse({ userId, id, format });
});
