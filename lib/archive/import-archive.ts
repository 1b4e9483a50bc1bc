import "server-only";
import { createHash } from "node:crypto";
import { setImmediate as nextTurn } from "node:timers/promises";
import { loneSurrogateAt } from "@/lib/api/read-json-body";
import { storageKeysInUse } from "@/lib/db/attachments";
import { importConversationTrees, newRowId, type NewConversationTree, type NewTreeMessage } from "@/lib/db/conversation-archive";
import { AppError } from "@/lib/errors";
import { removeBlobs } from "@/lib/storage/blob-store";
import { saveImportedImage } from "@/lib/storage/save-imported-image";
import {
  ARCHIVE_FORMAT,
  ARCHIVE_VERSION,
  archiveConversationHeadSchema,
  archiveImageMetaSchema,
  archiveMediaMetaSchema,
  archiveMessageSchema,
  IMPORT_LIMITS,
  type ArchiveConversation,
  type ArchiveMessage,
} from "./archive-schema";
import { removeImportedMedia, storeImportedMedia } from "./import-media";
import { parseArchiveInWorker } from "./parse-in-worker";

export interface ImportResult {
  conversations: { id: string; title: string }[];
  /** Images in the file that the conversations use (some may have been in the account already). */
  images: number;
  /** Videos, audio files, PDFs and tables in the file that the conversations use, read again into their frames, pages… */
  media?: number;
}

/** What an imported conversation's title gets, so that it can be told from the original. */
export const IMPORTED_SUFFIX = " (imported)";

/** Longest stretch of synchronous work between two turns of the event loop, in ms. */
const SLICE_MS = 15;

/**
 * Imports a JSON export into the user's account as new conversations with
 * new ids. Every image is checked like an upload and becomes the user's own
 * attachment (the same image twice is one attachment). All or nothing: a bad
 * file is a 400 `bad_request:import` naming the problem (a 413 naming the
 * limit for one too large), and leaves neither rows nor image files behind.
 *
 * No step holds the event loop for long, so other users' answers, pages
 * and health checks go on during a large import: the file is parsed on a
 * worker thread and comes back in pieces, each validated in slices, and
 * the rows are written in batches (lib/db/conversation-archive.ts).
 *
 * Videos, audio files, PDFs and tables (`media`) are stored as uploads of
 * the same bytes are, read again in the decoding process into their
 * frames, pages, chart or spectrogram (see storeImportedMedia); those this
 * import added are taken back if it fails.
 */
export async function importArchive({ userId, bytes }: { userId: string; bytes: Uint8Array }): Promise<ImportResult> {
  const conversations: NewConversationTree[] = [];
  /** Images the conversations use, by SHA-256; each must be in the file. */
  const used = new Map<string, string>();
  const inFile = new Set<string>();
  const written: string[] = [];
  const attachments: Parameters<typeof importConversationTrees>[0]["attachments"] = [];
  const shaInStore = new Map<string, string>();
  /** Media uploads this import created (taken back if it fails). */
  const createdMedia: string[] = [];
  let mediaCount = 0;
  let totalMessages = 0;
  let sliceStart = performance.now();
  const breathe = async () => {
    if (performance.now() - sliceStart < SLICE_MS) return;
    await nextTurn();
    sliceStart = performance.now();
  };

  try {
    for await (const piece of parseArchiveInWorker(bytes)) {
      if (piece.type === "head") checkHead(piece.head);
      else if (piece.type === "conversations") {
        for (const [k, raw] of piece.items.entries()) {
          const index = piece.from + k;
          const c = await parseConversation(raw, index, breathe);
          totalMessages += c.messages.length;
          if (totalMessages > IMPORT_LIMITS.messages) {
            throw new AppError("payload_too_large:import", `The file holds more than ${IMPORT_LIMITS.messages} messages, the most one import takes. Split it into smaller exports.`);
          }
          for (const m of c.messages) for (const p of m.parts) if (p.type === "image" && !used.has(p.sha256)) used.set(p.sha256, `conversations.${index}.messages.${m.id}`);
          conversations.push(await toNewTree(c, index, breathe));
        }
      } else if (piece.type === "image") {
        const where = `images.${piece.index}`;
        const meta = archiveImageMetaSchema.safeParse(piece.image);
        if (!meta.success) throw invalid(where, meta.error.issues);
        const { sha256 } = meta.data;
        if (inFile.has(sha256)) throw new AppError("bad_request:import", `The file is not a valid export: ${where}.sha256: this image appears twice`);
        inFile.add(sha256);
        if (!piece.bytes) throw new AppError("bad_request:import", `The file is not a valid export: ${where}.data: ${piece.hadData ? "is not valid base64" : "is missing"}`);
        // Images no conversation uses are not stored (an export only has used ones anyway); they are still checked above.
        if (!used.has(sha256) && conversations.length) continue;
        const image = await storeImage(piece.bytes, sha256, `images[${piece.index}] (${sha256.slice(0, 12)}…)`);
        if (image.addedFile) written.push(image.storageKey);
        shaInStore.set(sha256, image.sha256);
        const g = meta.data.generated;
        attachments.push(g ? { ...image.record, generatedPrompt: g.prompt, generatedSeed: g.seed, generatedBy: g.generator } : image.record);
      } else if (piece.type === "media") {
        const where = `media.${piece.index}`;
        const meta = archiveMediaMetaSchema.safeParse(piece.media);
        if (!meta.success) throw invalid(where, meta.error.issues);
        const { sha256 } = meta.data;
        if (inFile.has(sha256)) throw new AppError("bad_request:import", `The file is not a valid export: ${where}.sha256: this file appears twice`);
        inFile.add(sha256);
        if (!piece.bytes) throw new AppError("bad_request:import", `The file is not a valid export: ${where}.data: ${piece.hadData ? "is not valid base64" : "is missing"}`);
        if (!used.has(sha256)) continue;
        const { record, created } = await storeImportedMedia({ userId, bytes: piece.bytes, meta: meta.data, where: `media[${piece.index}] (${meta.data.mediaType}, ${sha256.slice(0, 12)}…)` });
        if (created) createdMedia.push(record.id);
        shaInStore.set(sha256, record.sha256);
        attachments.push({ sha256: record.sha256, mediaType: record.mediaType, width: record.width, height: record.height, byteSize: record.byteSize, storageKey: record.storageKey });
        mediaCount++;
      }
    }
    for (const [sha, where] of used) {
      if (!inFile.has(sha)) throw new AppError("bad_request:import", `The file is not a valid export: ${where}: no image with this SHA-256 is in the file (${sha.slice(0, 12)}…)`);
    }
    // Images listed before the conversations that use them were stored unconditionally; keep the used ones, once each.
    const usedStored = new Set([...used.keys()].map((sha) => shaInStore.get(sha)));
    const kept = [...new Map(attachments.filter((a) => usedStored.has(a.sha256)).map((a) => [a.sha256, a])).values()];
    for (const c of conversations) {
      for (const m of c.messages) m.parts = m.parts.map((p) => (p.type === "image" ? { type: "image", sha256: shaInStore.get(p.sha256)! } : p));
    }
    const created = await importConversationTrees({ userId, conversations, attachments: kept });
    const unused = written.filter((k) => !kept.some((a) => a.storageKey === k));
    if (unused.length) await removeBlobs(unused, { stillUsed: storageKeysInUse });
    return { conversations: created, images: kept.length - mediaCount, ...(mediaCount ? { media: mediaCount } : {}) };
  } catch (err) {
    await removeImportedMedia({ userId, ids: createdMedia }).catch(() => {});
    // Files this import added and no row uses: a later upload of the same bytes writes them again.
    const inUse = await storageKeysInUse(written);
    await removeBlobs(written.filter((k) => !inUse.has(k)), { stillUsed: storageKeysInUse });
    throw err;
  }
}

function checkHead(head: { format: unknown; version: unknown; exportedAt: unknown; conversations: number | null; images: number | null; media?: number | null }) {
  if (head.format !== ARCHIVE_FORMAT) {
    throw new AppError("bad_request:import", `This is not a ${ARCHIVE_FORMAT} export: its "format" field must be "${ARCHIVE_FORMAT}".`);
  }
  if (head.version !== ARCHIVE_VERSION) {
    throw new AppError("bad_request:import", `This export is format version ${JSON.stringify(head.version)}; this app reads version ${ARCHIVE_VERSION}.`);
  }
  if (typeof head.exportedAt !== "string" || Number.isNaN(Date.parse(head.exportedAt))) {
    throw new AppError("bad_request:import", "The file is not a valid export: exportedAt: must be a date and time.");
  }
  if (head.conversations === null) throw new AppError("bad_request:import", "The file is not a valid export: conversations: must be a list.");
  if (head.images === null) throw new AppError("bad_request:import", "The file is not a valid export: images: must be a list.");
  if (head.conversations > IMPORT_LIMITS.conversations) {
    throw new AppError(
      "payload_too_large:import",
      `The file holds ${head.conversations} conversations; one import takes at most ${IMPORT_LIMITS.conversations}. Split it into smaller exports.`,
    );
  }
  if (head.images > IMPORT_LIMITS.images) {
    throw new AppError("payload_too_large:import", `The file holds ${head.images} images; one import takes at most ${IMPORT_LIMITS.images}.`);
  }
  if (head.media === null) throw new AppError("bad_request:import", "The file is not a valid export: media: must be a list.");
  if ((head.media ?? 0) > IMPORT_LIMITS.media) {
    throw new AppError("payload_too_large:import", `The file holds ${head.media} videos, audio files, PDFs and tables; one import takes at most ${IMPORT_LIMITS.media}.`);
  }
}

function invalid(where: string, issues: readonly { path: PropertyKey[]; message: string }[]): AppError {
  const first = issues[0]!;
  return new AppError("bad_request:import", `The file is not a valid export: ${[where, ...first.path.map(String)].join(".")}: ${first.message}`, {
    details: issues.slice(0, 20).map(({ path, message }) => ({ path: [where, ...path.map(String)].join("."), message })),
  });
}

/**
 * One conversation, checked as the schema says (archiveConversationSchema),
 * a message at a time with turns of the event loop in between: a single
 * conversation can hold 20 000 messages.
 */
async function parseConversation(raw: unknown, index: number, breathe: () => Promise<void>): Promise<ArchiveConversation> {
  const where = `conversations.${index}`;
  const count = (raw as { messages?: unknown } | null)?.messages;
  if (Array.isArray(count) && count.length > IMPORT_LIMITS.messagesPerConversation) {
    throw new AppError(
      "payload_too_large:import",
      `${where} holds ${count.length} messages; one conversation may have at most ${IMPORT_LIMITS.messagesPerConversation}.`,
    );
  }
  const { messages: rawMessages, ...rest } = (raw && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
  notUnicodeOrThrow(rest, where);
  const head = archiveConversationHeadSchema.safeParse(raw);
  if (!head.success) throw invalid(where, head.error.issues);
  const messages: ArchiveMessage[] = [];
  for (const [i, m] of (rawMessages as unknown[]).entries()) {
    notUnicodeOrThrow(m, `${where}.messages.${i}`);
    const parsed = archiveMessageSchema.safeParse(m);
    if (!parsed.success) throw invalid(`${where}.messages.${i}`, parsed.error.issues);
    messages.push(parsed.data);
    await breathe();
  }
  return { ...head.data, messages };
}

/** A lone UTF-16 surrogate (valid JSON, not Unicode) cannot be stored: refused here, not as a 500 from the database. */
function notUnicodeOrThrow(value: unknown, where: string) {
  const at = loneSurrogateAt(value);
  if (at !== null) throw new AppError("bad_request:import", `The file is not a valid export: ${[where, at].filter(Boolean).join(".")}: the text is not valid Unicode.`);
}

async function storeImage(bytes: Uint8Array, sha256: string, where: string) {
  if (createHash("sha256").update(bytes).digest("hex") !== sha256) {
    throw new AppError("bad_request:import", `${where}: the image data does not match its sha256.`);
  }
  const saved = await saveImportedImage(bytes).catch((err: unknown) => {
    if (err instanceof AppError) throw new AppError("bad_request:import", `${where}: ${err.message}`);
    throw err;
  });
  const { mediaType, width, height, byteSize, storageKey } = saved;
  return { sha256: saved.sha256, storageKey, addedFile: saved.addedFile, record: { sha256: saved.sha256, mediaType, width, height, byteSize, storageKey } };
}

const bad = (index: number, message: string) => new AppError("bad_request:import", `The file is not a valid export: conversations.${index}.${message}`);

/**
 * The conversation as rows to insert, parents before children, with new
 * ids, and the checks the schema's tree rules make (ids unique, parents in
 * the conversation, no loops, `position` the message's depth): linear in
 * its size, a flat list of 20 000 replies to one question as much as a
 * chain of 20 000 turns, with turns of the event loop in between.
 */
async function toNewTree(c: ArchiveConversation, index: number, breathe: () => Promise<void>): Promise<NewConversationTree> {
  const ids = new Map<string, string>();
  for (const [i, m] of c.messages.entries()) {
    if (ids.has(m.id)) throw bad(index, `messages.${i}.id: the message id ${JSON.stringify(m.id)} appears twice`);
    ids.set(m.id, newRowId());
  }
  const children = new Map<string | null, ArchiveConversation["messages"]>();
  for (const [i, m] of c.messages.entries()) {
    if (m.parentId !== null && !ids.has(m.parentId)) throw bad(index, `messages.${i}.parentId: must be the id of a message in the same conversation`);
    const list = children.get(m.parentId);
    if (list) list.push(m);
    else children.set(m.parentId, [m]);
  }
  if (c.activeLeafId !== null && !ids.has(c.activeLeafId)) throw bad(index, "activeLeafId: must be the id of a message in the same conversation");
  await breathe();
  const ordered: NewTreeMessage[] = [];
  // Every message is reached from a first question exactly once, unless parentId links form a loop.
  const queue = [...(children.get(null) ?? [])];
  const depth = new Map<string, number>();
  for (let head = 0; head < queue.length; head++) {
    const m = queue[head]!;
    const want = m.parentId === null ? 0 : depth.get(m.parentId)! + 1;
    if (m.position !== want) throw bad(index, `messages (id ${JSON.stringify(m.id)}): position is ${m.position}, but the message is at depth ${want} of its branch.`);
    if (want >= IMPORT_LIMITS.depth) {
      throw new AppError("payload_too_large:import", `conversations.${index} has a branch deeper than ${IMPORT_LIMITS.depth} messages, the most one import takes.`);
    }
    depth.set(m.id, want);
    for (const child of children.get(m.id) ?? []) queue.push(child);
    const { id, parentId, parts, ...rest } = m;
    // An answer that was being written when exported can never finish here.
    const unfinished = rest.status === "streaming";
    ordered.push({
      ...rest,
      id: ids.get(id)!,
      parentId: parentId === null ? null : ids.get(parentId)!,
      parts: parts.map((p) => (p.type === "image" ? { type: "image", sha256: p.sha256 } : p)),
      status: unfinished ? "stopped" : rest.status,
      error: unfinished ? (rest.error ?? "The answer was still being written when it was exported.") : rest.error,
      createdAt: new Date(rest.createdAt),
    });
    await breathe();
  }
  if (ordered.length !== c.messages.length) throw bad(index, "messages: the parentId links form a loop");
  const title = c.title.endsWith(IMPORTED_SUFFIX) ? c.title : `${c.title.slice(0, 200 - IMPORTED_SUFFIX.length)}${IMPORTED_SUFFIX}`;
  return {
    id: newRowId(),
    title,
    titleByUser: c.titleByUser,
    model: c.model,
    systemPrompt: c.systemPrompt,
    settings: c.settings,
    createdAt: new Date(c.createdAt),
    updatedAt: new Date(c.updatedAt),
    activeLeafId: c.activeLeafId === null ? null : (ids.get(c.activeLeafId) ?? null),
    messages: ordered,
  };
}
