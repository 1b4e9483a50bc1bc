import { apiHandler } from "@/lib/api/handler";
import { revokeAllTokens } from "@/lib/auth/revocation";
import { requireUserId } from "@/lib/auth/session";

export const dynamic = "force-dynamic";

// DELETE /api/sessions – sign out everywhere: every session token of the user stops working, this one included
export const DELETE = apiHandler(async () => {
  const userId = await requireUserId();
  await revokeAllTokens({ userId });
  return new Response(null, { status: 204 });
});
