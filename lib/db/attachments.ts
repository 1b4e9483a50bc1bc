import "server-only";
import { AppError } from "@/lib/errors";
import { db } from "./client";

export interface AttachmentRecord {
  id: string;
  sha256: string;
  mediaType: string;
  width: number;
  height: number;
  byteSize: number;
  storageKey: string;
  createdAt: Date;
}

const select = { id: true, sha256: true, mediaType: true, width: true, height: true, byteSize: true, storageKey: true, createdAt: true } as const;

/** The user's attachment for these bytes: the existing one when they uploaded the same image before. */
export async function upsertAttachment(data: Omit<AttachmentRecord, "id" | "createdAt"> & { userId: string }): Promise<AttachmentRecord> {
  return db.attachment.upsert({
    where: { userId_sha256: { userId: data.userId, sha256: data.sha256 } },
    create: data,
    update: {},
    select,
  });
}

/** One of the user's attachments; another user's id is *not found*. */
export async function getAttachmentOrThrow({ id, userId }: { id: string; userId: string }): Promise<AttachmentRecord> {
  const row = await db.attachment.findFirst({ where: { id, userId }, select });
  if (!row) throw new AppError("not_found:attachment", "Image not found.");
  return row;
}

/** All of these attachments, in the given order, or *not found* if any is missing or not the user's. */
export async function getAttachmentsOrThrow({ ids, userId }: { ids: string[]; userId: string }): Promise<AttachmentRecord[]> {
  if (!ids.length) return [];
  const rows = await db.attachment.findMany({ where: { id: { in: ids }, userId }, select });
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => {
    const row = byId.get(id);
    if (!row) throw new AppError("not_found:attachment", "Image not found.");
    return row;
  });
}

/**
 * Removes uploads that were never sent in a message (the composer was
 * abandoned) once they are older than `olderThan`. Returns the storage keys
 * no attachment row uses any more, for the blob store to delete.
 */
export async function deleteUnsentAttachments({ olderThan }: { olderThan: Date }): Promise<string[]> {
  return db.$transaction(async (tx) => {
    const stale = await tx.attachment.findMany({
      where: { createdAt: { lt: olderThan }, messages: { none: {} } },
      select: { id: true, storageKey: true },
    });
    if (!stale.length) return [];
    await tx.attachment.deleteMany({ where: { id: { in: stale.map((a) => a.id) } } });
    const keys = [...new Set(stale.map((a) => a.storageKey))];
    const stillUsed = new Set((await tx.attachment.findMany({ where: { storageKey: { in: keys } }, select: { storageKey: true } })).map((a) => a.storageKey));
    return keys.filter((k) => !stillUsed.has(k));
  });
}

/** Which of these storage keys some attachment row (anyone's) still uses. */
export async function storageKeysInUse(keys: string[]): Promise<Set<string>> {
  if (!keys.length) return new Set();
  const rows = await db.attachment.findMany({ where: { storageKey: { in: keys } }, select: { storageKey: true }, distinct: ["storageKey"] });
  return new Set(rows.map((r) => r.storageKey));
}
