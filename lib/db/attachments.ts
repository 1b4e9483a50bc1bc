import "server-only";
import { AppError } from "@/lib/errors";
import { wakeImageIndexer } from "@/lib/images/index-wake";
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

/** Where a generated image came from (issue 28), kept with it for the library. */
export interface GeneratedFrom {
  prompt: string;
  /** The seed that draws it again; null when the generator did not say. */
  seed: number | null;
  /** The generator's id ("shapes-gen", "remote:…"). */
  generator: string;
}

/**
 * The user's attachment for these bytes: the existing one when they uploaded
 * the same image before. With `generated`, the image is marked as drawn from
 * that prompt (the same picture drawn again takes the newer prompt), and its
 * search text is rebuilt to hold it.
 */
export async function upsertAttachment({
  generated,
  ...data
}: Omit<AttachmentRecord, "id" | "createdAt"> & { userId: string; generated?: GeneratedFrom }): Promise<AttachmentRecord> {
  const marks = generated ? { generatedPrompt: generated.prompt, generatedSeed: generated.seed, generatedBy: generated.generator } : {};
  const row = await db.attachment.upsert({
    where: { userId_sha256: { userId: data.userId, sha256: data.sha256 } },
    create: { ...data, ...marks },
    update: marks,
    select,
  });
  if (generated) await db.imageIndex.updateMany({ where: { attachmentId: row.id }, data: { textStale: true } });
  wakeImageIndexer();
  return row;
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
 * abandoned) once they are older than `olderThan`. Generated images are kept:
 * one made through the API with `store: true` is in no message by design. Returns the storage keys
 * no attachment row uses any more, for the blob store to delete.
 */
export async function deleteUnsentAttachments({ olderThan }: { olderThan: Date }): Promise<string[]> {
  return db.$transaction(async (tx) => {
    // Derived images (frames, pages…) are never in a message: they go with their source.
    const stale = await tx.attachment.findMany({
      where: { createdAt: { lt: olderThan }, messages: { none: {} }, sourceId: null, generatedBy: null },
      select: { id: true, storageKey: true, derived: { select: { storageKey: true } } },
    });
    if (!stale.length) return [];
    await tx.attachment.deleteMany({ where: { id: { in: stale.map((a) => a.id) } } });
    const keys = [...new Set(stale.flatMap((a) => [a.storageKey, ...a.derived.map((d) => d.storageKey)]))];
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

/** An image derived from an upload (a frame, a page, a chart, a spectrogram), as stored with it. */
export interface DerivedRecordInput {
  /** Unique per user: the derivation's id (source, place and image bytes hashed together), not the image's own hash. */
  sha256: string;
  storageKey: string;
  mediaType: string;
  width: number;
  height: number;
  byteSize: number;
  label: string;
  time?: number;
  page?: number;
}

/** The user's upload of these bytes, if they uploaded them before (its derived parts are cached with it). */
export async function findAttachmentBySha({ userId, sha256 }: { userId: string; sha256: string }): Promise<AttachmentRecord | null> {
  return db.attachment.findUnique({ where: { userId_sha256: { userId, sha256 } }, select });
}

/**
 * Records an upload that is not an image together with what its reader
 * derived from it, in one transaction: either all rows exist or none.
 * The derived images are attachments of their own (so the image library
 * indexes them like any image) pointing at their source, which deletes them.
 */
export async function saveMediaAttachment({
  userId,
  source,
  derived,
}: {
  userId: string;
  source: Omit<AttachmentRecord, "id" | "createdAt"> & { mediaInfo: string };
  derived: DerivedRecordInput[];
}): Promise<AttachmentRecord> {
  const saved = await db.$transaction(async (tx) => {
    const existing = await tx.attachment.findUnique({ where: { userId_sha256: { userId, sha256: source.sha256 } }, select });
    if (existing) return existing;
    const row = await tx.attachment.create({ data: { ...source, userId }, select });
    await tx.attachment.createMany({
      data: derived.map((d, i) => ({
        userId,
        sha256: d.sha256,
        mediaType: d.mediaType,
        width: d.width,
        height: d.height,
        byteSize: d.byteSize,
        storageKey: d.storageKey,
        sourceId: row.id,
        placeIndex: i,
        placeLabel: d.label,
        placeTime: d.time ?? null,
        placePage: d.page ?? null,
      })),
    });
    return row;
  });
  wakeImageIndexer();
  return saved;
}

/** A derived image as the prompt builder and the chat's attachment views need it. */
export interface DerivedPart {
  id: string;
  storageKey: string;
  label: string;
  time: number | null;
  page: number | null;
}

export interface MediaAttachment {
  id: string;
  mediaType: string;
  /** The reader's findings (see MediaInfo in lib/media/types.ts), parsed by the caller. */
  mediaInfo: string;
  derived: DerivedPart[];
}

const derivedSelect = { id: true, storageKey: true, placeLabel: true, placeTime: true, placePage: true } as const;
const toDerived = (d: { id: string; storageKey: string; placeLabel: string | null; placeTime: number | null; placePage: number | null }): DerivedPart => ({
  id: d.id,
  storageKey: d.storageKey,
  label: d.placeLabel ?? "",
  time: d.placeTime,
  page: d.placePage,
});

/** Of these attachments, the ones that are media uploads (not images), with their derived parts in order. */
export async function getMediaAttachments(ids: string[]): Promise<Map<string, MediaAttachment>> {
  if (!ids.length) return new Map();
  const rows = await db.attachment.findMany({
    where: { id: { in: ids }, mediaInfo: { not: null } },
    select: { id: true, mediaType: true, mediaInfo: true, derived: { select: derivedSelect, orderBy: { placeIndex: "asc" } } },
  });
  return new Map(rows.map((r) => [r.id, { id: r.id, mediaType: r.mediaType, mediaInfo: r.mediaInfo!, derived: r.derived.map(toDerived) }]));
}

/** One of the user's media uploads with its derived parts; another user's id (or an image) is *not found*. */
export async function getMediaAttachmentOrThrow({ id, userId }: { id: string; userId: string }): Promise<MediaAttachment> {
  const row = await db.attachment.findFirst({
    where: { id, userId, mediaInfo: { not: null } },
    select: { id: true, mediaType: true, mediaInfo: true, derived: { select: derivedSelect, orderBy: { placeIndex: "asc" } } },
  });
  if (!row) throw new AppError("not_found:attachment", "File not found.");
  return { id: row.id, mediaType: row.mediaType, mediaInfo: row.mediaInfo!, derived: row.derived.map(toDerived) };
}

/** Where a derived image came from: its source upload and place (for the image library). */
export async function getDerivedSources(ids: string[]): Promise<Map<string, { sourceId: string; mediaType: string; label: string; time: number | null; page: number | null }>> {
  if (!ids.length) return new Map();
  const rows = await db.attachment.findMany({
    where: { id: { in: ids }, sourceId: { not: null } },
    select: { id: true, sourceId: true, placeLabel: true, placeTime: true, placePage: true, source: { select: { mediaType: true } } },
  });
  return new Map(rows.map((r) => [r.id, { sourceId: r.sourceId!, mediaType: r.source?.mediaType ?? "", label: r.placeLabel ?? "", time: r.placeTime, page: r.placePage }]));
}
