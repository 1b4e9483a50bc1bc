import "server-only";
import { getPasswordHash, replacePassword } from "@/lib/db/users";
import { AppError } from "@/lib/errors";
import { hashPassword, verifyPassword } from "./password";

/**
 * Changes the user's password once the current one is proven. Every session
 * token issued before stops counting (the token version is bumped); the caller
 * re-issues the session that asked (`reissueSession`), so only the others end.
 * Returns the new token version.
 */
export async function changePassword({ userId, currentPassword, newPassword }: { userId: string; currentPassword: string; newPassword: string }): Promise<number> {
  const hash = await getPasswordHash({ userId });
  if (!hash || !(await verifyPassword(currentPassword, hash))) {
    throw new AppError("forbidden:password", "The current password is not right.");
  }
  return replacePassword({ userId, passwordHash: await hashPassword(newPassword) });
}
