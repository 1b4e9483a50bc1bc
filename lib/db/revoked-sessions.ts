import "server-only";
import { db } from "./client";

/**
 * Records a signed-out session id until `expiresAt` (when its token would
 * have expired anyway); drops the records already past that.
 */
export async function revokeSessionId({ id, userId, expiresAt }: { id: string; userId: string; expiresAt: Date }): Promise<void> {
  await db.revokedSession.deleteMany({ where: { expiresAt: { lt: new Date() } } });
  // A second sign-out of the same token changes nothing; a user deleted meanwhile takes it along.
  await db.revokedSession.createMany({ data: [{ id, userId, expiresAt }] }).catch((err: { code?: string }) => {
    if (err.code !== "P2002" && err.code !== "P2003") throw err;
  });
}

/** Whether this session id was signed out. */
export async function isSessionIdRevoked({ id }: { id: string }): Promise<boolean> {
  return (await db.revokedSession.count({ where: { id } })) > 0;
}
