import { apiHandler } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { revokeApiKeyOrThrow } from "@/lib/db/api-keys";

type Ctx = { params: Promise<{ id: string }> };

// DELETE /api/keys/:id – revoke a key at once (404 for another user's key)
export const DELETE = apiHandler<Ctx>(async (_req, { params }) => {
  const userId = await requireUserId();
  const { id } = await params;
  await revokeApiKeyOrThrow({ id, userId });
  return new Response(null, { status: 204 });
});
