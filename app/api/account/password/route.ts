import { apiHandler, parseJson } from "@/lib/api/handler";
import { changePassword } from "@/lib/auth/change-password";
import { reissueSession } from "@/lib/auth/reissue-session";
import { requireUserId } from "@/lib/auth/session";
import { changePasswordSchema } from "./schema";

export const dynamic = "force-dynamic";

// POST /api/account/password – change the password (the current one required); every other session is signed out
export const POST = apiHandler(async (req) => {
  const userId = await requireUserId();
  const body = await parseJson(req, changePasswordSchema);
  const tokenVersion = await changePassword({ userId, currentPassword: body.currentPassword, newPassword: body.newPassword });
  await reissueSession({ tokenVersion });
  return new Response(null, { status: 204 });
});
