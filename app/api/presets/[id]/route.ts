import { apiHandler } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { deletePresetOrThrow } from "@/lib/db/presets";

type Ctx = { params: Promise<{ id: string }> };

// DELETE /api/presets/:id – delete one of the caller's presets (404 for another user's)
export const DELETE = apiHandler<Ctx>(async (_req, { params }) => {
  const userId = await requireUserId();
  const { id } = await params;
  await deletePresetOrThrow({ id, userId });
  return new Response(null, { status: 204 });
});
