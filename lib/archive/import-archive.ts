import "server-only";
import { createHash } from "node:crypto";
import { storageKeysInUse } from "@/lib/db/attachments";
import { insertConversationTrees, type NewConversationTree, type NewTreeMessage } from "@/lib/db/conversation-archive";
import { AppError } from "@/lib/errors";
import { removeBlobs } from "@/lib/storage/blob-store";
import { saveImportedImage } from "@/lib/storage/save-imported-image";
import { ARCHIVE_FORMAT, ARCHIVE_VERSION, archiveSchema, type Archive, type ArchiveConversation } from "./archive-schema";

export interface ImportResult {
  conversations: { id: string; title: string }[];
  /** Images in the file that the conversations use (some may have been in the account already). */
  images: number;
}

/**
 * Imports a JSON export into the user's account as new conversations with
 * new ids. Every image is checked like an upload and becomes the user's own
 * attachment (the same image twice is one attachment). All or nothing: a bad
 * file is a 400 `bad_request:import` naming the problem, and leaves neither
 * rows nor image files behind.
 */
export async function importArchive({ userId, body }: { userId: string; body: unknown }): Promise<ImportResult> {
  const archive = parseArchive(body);
  const used = new Set(archive.conversations.flatMap((c) => c.messages.flatMap((m) => m.parts.flatMap((p) => (p.type === "image" ? [p.sha256] : [])))));
  const written: string[] = [];
  try {
    const attachments = [];
    const shaInStore = new Map<string, string>();
    for (const [i, image] of archive.images.entries()) {
      if (!used.has(image.sha256)) continue;
      const bytes = Buffer.from(image.data, "base64");
      const where = `images[${i}] (${image.sha256.slice(0, 12)}…)`;
      if (createHash("sha256").update(bytes).digest("hex") !== image.sha256) {
        throw new AppError("bad_request:import", `${where}: the image data does not match its sha256.`);
      }
      const saved = await saveImportedImage(bytes).catch((err: unknown) => {
        if (err instanceof AppError) throw new AppError("bad_request:import", `${where}: ${err.message}`);
        throw err;
      });
      if (saved.addedFile) written.push(saved.storageKey);
      shaInStore.set(image.sha256, saved.sha256);
      const { sha256, mediaType, width, height, byteSize, storageKey } = saved;
      attachments.push({ sha256, mediaType, width, height, byteSize, storageKey });
    }
    const conversations = archive.conversations.map((c) => toNewTree(c, shaInStore));
    const created = await insertConversationTrees({ userId, conversations, attachments });
    return { conversations: created, images: attachments.length };
  } catch (err) {
    // Files this import added and no row uses: a later upload of the same bytes writes them again.
    const inUse = await storageKeysInUse(written);
    await removeBlobs(written.filter((k) => !inUse.has(k)), { stillUsed: storageKeysInUse });
    throw err;
  }
}

/** The archive, or a 400 that says what is wrong with the file. */
export function parseArchive(body: unknown): Archive {
  const head = (body && typeof body === "object" && !Array.isArray(body) ? body : {}) as { format?: unknown; version?: unknown };
  if (head.format !== ARCHIVE_FORMAT) {
    throw new AppError("bad_request:import", `This is not a ${ARCHIVE_FORMAT} export: its "format" field must be "${ARCHIVE_FORMAT}".`);
  }
  if (head.version !== ARCHIVE_VERSION) {
    throw new AppError("bad_request:import", `This export is format version ${JSON.stringify(head.version)}; this app reads version ${ARCHIVE_VERSION}.`);
  }
  const parsed = archiveSchema.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const first = issues[0]!;
    throw new AppError("bad_request:import", `The file is not a valid export: ${first.path.join(".") || "(top level)"}: ${first.message}`, {
      details: issues.slice(0, 20).map(({ path, message }) => ({ path, message })),
    });
  }
  return parsed.data;
}

/** The conversation as rows to insert, parents before children. */
function toNewTree(c: ArchiveConversation, shaInStore: Map<string, string>): NewConversationTree {
  const children = new Map<string | null, typeof c.messages>();
  for (const m of c.messages) children.set(m.parentId, [...(children.get(m.parentId) ?? []), m]);
  const ordered: NewTreeMessage[] = [];
  // The schema refused loops and dangling parents, so this walk from the roots reaches every message once.
  const queue = [...(children.get(null) ?? [])];
  for (let m = queue.shift(); m; m = queue.shift()) {
    queue.push(...(children.get(m.id) ?? []));
    const { id, parentId, parts, ...rest } = m;
    // An answer that was being written when exported can never finish here.
    const unfinished = rest.status === "streaming";
    ordered.push({
      ...rest,
      key: id,
      parentKey: parentId,
      parts: parts.map((p) => (p.type === "image" ? { type: "image", sha256: shaInStore.get(p.sha256)! } : p)),
      status: unfinished ? "stopped" : rest.status,
      error: unfinished ? (rest.error ?? "The answer was still being written when it was exported.") : rest.error,
      createdAt: new Date(rest.createdAt),
    });
  }
  return {
    title: c.title,
    titleByUser: c.titleByUser,
    model: c.model,
    systemPrompt: c.systemPrompt,
    settings: c.settings,
    createdAt: new Date(c.createdAt),
    updatedAt: new Date(c.updatedAt),
    activeLeafKey: c.activeLeafId,
    messages: ordered,
  };
}
