import { apiHandler, json, parseJson } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { getTheme, setTheme } from "@/lib/db/theme";
import { getAccountOrThrow, updateDisplayName } from "@/lib/db/users";
import { updateAccountSchema } from "./schema";

export const dynamic = "force-dynamic";

// GET /api/account – the signed-in user's email, display name and theme
export const GET = apiHandler(async () => {
  const userId = await requireUserId();
  const [account, theme] = await Promise.all([getAccountOrThrow({ userId }), getTheme({ userId })]);
  return json({ account: { ...account, theme } });
});

// PATCH /api/account – change the display name and/or the theme (system | light | dark)
export const PATCH = apiHandler(async (req) => {
  const userId = await requireUserId();
  const body = await parseJson(req, updateAccountSchema);
  if (body.theme !== undefined) await setTheme({ userId, theme: body.theme });
  const account = body.name !== undefined ? await updateDisplayName({ userId, name: body.name || null }) : await getAccountOrThrow({ userId });
  return json({ account: { ...account, theme: await getTheme({ userId }) } });
});
