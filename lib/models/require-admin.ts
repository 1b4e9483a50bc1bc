import "server-only";
import { requireUserId } from "@/lib/auth/session";
import { isAdmin } from "@/lib/db/users";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";

/** The signed-in user's id when they administer this server (ADMIN_EMAILS; by default the first account); 403 otherwise. */
export async function requireAdminUserId(): Promise<string> {
  const userId = await requireUserId();
  if (!(await isAdmin({ userId, adminEmails: env.ADMIN_EMAILS }))) {
    throw new AppError("forbidden:model", "Only the server's administrator can manage models (ADMIN_EMAILS; by default the first account).");
  }
  return userId;
}
