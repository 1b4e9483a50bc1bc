import "server-only";
import { db } from "./client";

// App instance leases (the AppInstance table): each running process holds
// one and renews it; see lib/instance/lease.ts.

/** Creates or re-creates this instance's lease, valid until `expiresAt`. */
export async function registerInstance({ id, host, pid, expiresAt }: { id: string; host: string; pid: number; expiresAt: Date }): Promise<void> {
  await db.appInstance.upsert({ where: { id }, create: { id, host, pid, expiresAt }, update: { expiresAt } });
}

/** Extends the lease; false when it is gone (another instance found it expired and removed it). */
export async function renewInstance({ id, expiresAt }: { id: string; expiresAt: Date }): Promise<boolean> {
  const { count } = await db.appInstance.updateMany({ where: { id }, data: { expiresAt } });
  return count > 0;
}

/** Removes the lease (clean shutdown). */
export async function removeInstance(id: string): Promise<void> {
  await db.appInstance.deleteMany({ where: { id } });
}

/** A lease as the sweep sees it. */
export interface LeaseRow {
  id: string;
  host: string;
  pid: number;
  expiresAt: Date;
}

/**
 * Sorts the leases at `now`: removes the expired ones, and those `gone` says
 * belong to a process known to have ended, and returns their ids as `dead`
 * (only those this call removed: of two instances sweeping at once, one gets
 * each), and the ids of the others as `live`. A renewal and a removal of the
 * same lease are ordered by the database: a lease renewed in time is never
 * counted dead.
 */
export async function sweepInstances(now: Date, gone: (lease: LeaseRow) => boolean = () => false): Promise<{ live: string[]; dead: string[] }> {
  const leases = await db.appInstance.findMany({ select: { id: true, host: true, pid: true, expiresAt: true } });
  const live: string[] = [];
  const dead: string[] = [];
  for (const lease of leases) {
    const expired = lease.expiresAt < now;
    if (!expired && !gone(lease)) {
      live.push(lease.id);
      continue;
    }
    // Unchanged since read: a lease renewed meanwhile is live after all.
    const { count } = await db.appInstance.deleteMany({
      where: { id: lease.id, expiresAt: expired ? { lt: now } : lease.expiresAt },
    });
    if (count) dead.push(lease.id);
    else live.push(lease.id);
  }
  return { live, dead };
}
