import "server-only";
import { createHash } from "node:crypto";
import { db } from "@/lib/db/client";
import { findAttachmentBySha, storageKeysInUse, type AttachmentRecord } from "@/lib/db/attachments";
import { AppError } from "@/lib/errors";
import { sniffUpload } from "@/lib/media/sniff";
import { removeBlobs } from "@/lib/storage/blob-store";
import { saveUpload } from "@/lib/storage/save-upload";
import { MEDIA_FILE_EXT, type ArchiveMedia } from "./archive-schema";

/**
 * A video, audio file, PDF or table from an export, stored for the user
 * exactly as an upload of the same bytes would be: checked by its bytes and
 * read again, in the decoding process and under the same caps, into its
 * frames, pages, chart or spectrogram (what the model and the chat's views
 * use; an export carries only the file). The same file already in the
 * account is reused. Returns its row, and whether this import created it
 * (for {@link removeImportedMedia} to take back if the import fails).
 * Refusals are the upload's, as an import error naming the entry.
 */
export async function storeImportedMedia({
  userId,
  bytes,
  meta,
  where,
}: {
  userId: string;
  bytes: Uint8Array;
  meta: Omit<ArchiveMedia, "data">;
  where: string;
}): Promise<{ record: AttachmentRecord; created: boolean }> {
  if (createHash("sha256").update(bytes).digest("hex") !== meta.sha256) {
    throw new AppError("bad_request:import", `${where}: the file's data does not match its sha256.`);
  }
  const fileName = `imported.${MEDIA_FILE_EXT[meta.mediaType]}`;
  try {
    const kind = sniffUpload(bytes, fileName);
    if (kind.kind === "image" && meta.mediaType !== "image/gif" && meta.mediaType !== "image/webp") {
      throw new AppError("bad_request:import", `${where}: the data is a still image, not the ${meta.mediaType} file the entry says.`);
    }
  } catch (err) {
    if (err instanceof AppError && err.code.endsWith(":import")) throw err;
    throw new AppError("bad_request:import", `${where}: ${(err as Error).message}`);
  }
  const before = await findAttachmentBySha({ userId, sha256: meta.sha256 });
  if (before) return { record: before, created: false };
  const record = await saveUpload({ userId, bytes, fileName }).catch((err: unknown) => {
    if (err instanceof AppError) throw new AppError(err.status === 413 ? "payload_too_large:import" : "bad_request:import", `${where}: ${err.message}`);
    throw err;
  });
  if (record.sha256 !== meta.sha256) {
    await removeImportedMedia({ userId, ids: [record.id] });
    throw new AppError("bad_request:import", `${where}: the data is not the ${meta.mediaType} file the entry says.`);
  }
  return { record, created: true };
}

/**
 * Takes back media uploads an import created (a failed import leaves
 * nothing behind): the rows with their derived images, unless a message
 * uses them meanwhile, and the files no row uses any more.
 */
export async function removeImportedMedia({ userId, ids }: { userId: string; ids: string[] }): Promise<void> {
  if (!ids.length) return;
  const rows = await db.attachment.findMany({
    where: { id: { in: ids }, userId, messages: { none: {} } },
    select: { id: true, storageKey: true, derived: { select: { storageKey: true } } },
  });
  if (!rows.length) return;
  await db.attachment.deleteMany({ where: { id: { in: rows.map((r) => r.id) }, userId, messages: { none: {} } } });
  const keys = [...new Set(rows.flatMap((r) => [r.storageKey, ...r.derived.map((d) => d.storageKey)]))];
  await removeBlobs(keys, { stillUsed: storageKeysInUse });
}
