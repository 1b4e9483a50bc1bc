import { apiHandler, json, parseJson } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { getApiKeyOrThrow, revokeApiKeyOrThrow, setApiKeyCapOrThrow } from "@/lib/db/api-keys";
import { updateApiKeySchema } from "../schema";

type Ctx = { params: Promise<{ id: string }> };

export const dynamic = "force-dynamic";

// GET /api/keys/:id – one key with its usage (404 for another user's key)
export const GET = apiHandler<Ctx>(async (_req, { params }) => {
  const userId = await requireUserId();
  const { id } = await params;
  return json({ key: await getApiKeyOrThrow({ id, userId }) });
});

// PATCH /api/keys/:id – set or remove (null) the key's tokens-per-minute cap (404 for another user's key)
export const PATCH = apiHandler<Ctx>(async (req, { params }) => {
  const userId = await requireUserId();
  const { id } = await params;
  const body = await parseJson(req, updateApiKeySchema);
  return json({ key: await setApiKeyCapOrThrow({ id, userId, tokensPerMinute: body.tokensPerMinute }) });
});

// DELETE /api/keys/:id – revoke a key at once (404 for another user's key)
export const DELETE = apiHandler<Ctx>(async (_req, { params }) => {
  const userId = await requireUserId();
  const { id } = await params;
  await revokeApiKeyOrThrow({ id, userId });
  return new Response(null, { status: 204 });
});
