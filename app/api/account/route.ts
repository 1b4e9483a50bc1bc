import { apiHandler, json, parseJson } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { getAccountOrThrow, updateDisplayName } from "@/lib/db/users";
import { updateAccountSchema } from "./schema";

export const dynamic = "force-dynamic";

// GET /api/account – the signed-in user's email and display name
export const GET = apiHandler(async () => {
  const userId = await requireUserId();
  return json({ account: await getAccountOrThrow({ userId }) });
});

// PATCH /api/account – change the display name
export const PATCH = apiHandler(async (req) => {
  const userId = await requireUserId();
  const body = await parseJson(req, updateAccountSchema);
  return json({ account: await updateDisplayName({ userId, name: body.name || null }) });
});
