import "server-only";
import { randomBytes } from "node:crypto";
import { setImmediate as nextTurn } from "node:timers/promises";
import type { Prisma } from "@prisma/client";
import { messagePartsSchema, type MessagePart, type MessageRole, type MessageStatus } from "@/lib/chat/message-parts";
import { AppError } from "@/lib/errors";
import { wakeImageIndexer } from "@/lib/images/index-wake";
import type { AttachmentRecord } from "./attachments";
import { answerAdapters, type StoredMessage } from "./conversations";
import { db } from "./client";

/** A conversation with every message of its tree (all branches), for export. */
export interface ConversationTree {
  id: string;
  title: string;
  titleByUser: boolean;
  model: string | null;
  systemPrompt: string | null;
  settings: unknown;
  activeLeafId: string | null;
  createdAt: Date;
  updatedAt: Date;
  messages: TreeMessage[];
}

/** A stored message, as the chat reads it. */
export type TreeMessage = StoredMessage;

const attachmentSelect = {
  id: true,
  sha256: true,
  mediaType: true,
  width: true,
  height: true,
  byteSize: true,
  storageKey: true,
  createdAt: true,
  generatedPrompt: true,
  generatedSeed: true,
  generatedBy: true,
} as const;

/** An attachment as the archive reads and writes it: with where a generated image came from. */
export type ArchivedAttachment = AttachmentRecord & { generatedPrompt: string | null; generatedSeed: number | null; generatedBy: string | null };

/**
 * The user's conversations (one when `id` is given, else all, oldest first)
 * with their whole message trees and the attachments they use. Another
 * user's id is *not found*.
 */
export async function getConversationTreesOrThrow({
  userId,
  id,
}: {
  userId: string;
  id?: string;
}): Promise<{ conversations: ConversationTree[]; attachments: ArchivedAttachment[] }> {
  // One read transaction, so a turn finishing meanwhile cannot leave a message pointing at a missing image.
  return db.$transaction(async (tx) => {
    const rows = await tx.conversation.findMany({
      where: { userId, ...(id ? { id } : {}) },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      include: { messages: { orderBy: [{ position: "asc" }, { createdAt: "asc" }] } },
    });
    if (id && !rows.length) throw new AppError("not_found:conversation", "Conversation not found.");
    const conversations = rows.map(({ userId: _u, messages, ...c }) => ({
      ...c,
      messages: messages.map(({ conversationId: _c, instanceId: _i, ...m }) => ({
        ...m,
        role: m.role as MessageRole,
        status: m.status as MessageStatus,
        parts: messagePartsSchema.parse(m.parts),
        adapters: answerAdapters(m.adapters),
      })),
    }));
    const ids = [...new Set(conversations.flatMap((c) => c.messages.flatMap((m) => m.parts.flatMap((p) => (p.type === "image" ? [p.attachmentId] : [])))))];
    const attachments = ids.length ? await tx.attachment.findMany({ where: { id: { in: ids }, userId }, select: attachmentSelect }) : [];
    return { conversations, attachments };
  });
}

/** A message to insert, with its new id (see {@link newRowId}); images are named by the SHA-256 of an attachment in the same call. */
export interface NewTreeMessage extends Omit<TreeMessage, "parts"> {
  parts: ({ type: "text"; text: string } | { type: "image"; sha256: string })[];
}

export interface NewConversationTree extends Omit<ConversationTree, "messages"> {
  /** Parents before their children. */
  messages: NewTreeMessage[];
}

let lastTime = 0;
let counter = 0;
let pool = randomBytes(4096);
let poolAt = 0;
/**
 * A new row id in the shape of the ids Prisma makes (`cuid()`: 25 lowercase
 * letters and digits starting with "c", growing with time), made here so
 * that a whole tree can be written in batches with its links already set.
 * Within a process they grow strictly, like the ones they stand beside: the
 * tree orders messages made in one millisecond by id.
 */
export function newRowId(): string {
  const now = Date.now();
  if (now !== lastTime) {
    lastTime = now;
    counter = 0;
  }
  const time = now.toString(36).padStart(8, "0");
  const count = (counter++).toString(36).padStart(4, "0");
  let random = "";
  for (let i = 0; i < 12; i++) {
    if (poolAt >= pool.length) {
      pool = randomBytes(4096);
      poolAt = 0;
    }
    random += (pool[poolAt++]! % 36).toString(36);
  }
  return `c${time}${count}${random}`;
}

/**
 * Rows per INSERT batch: Prisma takes about 0.3 ms per row on SQLite (more
 * on a busy machine), and the batch is one synchronous stretch: keep it short.
 */
const BATCH_ROWS = 50;

/** E-mail domain of the stand-in accounts imports are staged under (`.invalid` can never receive mail). */
const STAGING_DOMAIN = "@import-staging.invalid";

/**
 * Inserts whole conversations (with the ids already set) for the user: all
 * or nothing, without a long transaction. The rows are written in batches
 * under a stand-in account that no one can sign in to or see, so nothing
 * shows in the user's account until the last step moves the conversations
 * over and creates the attachments, in one short transaction. A failure
 * (or a server killed meanwhile: see {@link removeStaleImportStaging})
 * deletes the stand-in account and with it every row written so far.
 *
 * Between batches the event loop gets a turn: the database driver answers
 * SQLite's queries synchronously, so without it a large import would hold
 * every other request of the server until it was done.
 */
export async function importConversationTrees({
  userId,
  conversations,
  attachments,
}: {
  userId: string;
  conversations: NewConversationTree[];
  attachments: (Omit<AttachmentRecord, "id" | "createdAt"> & Partial<Pick<ArchivedAttachment, "generatedPrompt" | "generatedSeed" | "generatedBy">>)[];
}): Promise<{ id: string; title: string }[]> {
  const attachmentIds = new Map<string, string>();
  for (let i = 0; i < attachments.length; i += BATCH_ROWS) {
    const shas = attachments.slice(i, i + BATCH_ROWS).map((a) => a.sha256);
    for (const row of await db.attachment.findMany({ where: { userId, sha256: { in: shas } }, select: { id: true, sha256: true } })) attachmentIds.set(row.sha256, row.id);
  }
  const newAttachments = attachments.filter((a) => !attachmentIds.has(a.sha256)).map((a) => ({ ...a, id: newRowId(), userId }));
  for (const a of newAttachments) attachmentIds.set(a.sha256, a.id);

  const staging = await db.user.create({
    data: { email: `${randomBytes(12).toString("hex")}${STAGING_DOMAIN}`, passwordHash: "!", name: "import in progress" },
    select: { id: true },
  });
  try {
    const links: { messageId: string; attachmentId: string }[] = [];
    let conversationRows: Prisma.ConversationCreateManyInput[] = [];
    let messageRows: Prisma.MessageCreateManyInput[] = [];
    const flush = async () => {
      if (conversationRows.length) await db.conversation.createMany({ data: conversationRows });
      for (let i = 0; i < messageRows.length; i += BATCH_ROWS) {
        await db.message.createMany({ data: messageRows.slice(i, i + BATCH_ROWS) });
        await nextTurn();
      }
      conversationRows = [];
      messageRows = [];
      await nextTurn();
    };
    for (const { messages, settings, ...c } of conversations) {
      conversationRows.push({ ...c, settings: settings ?? undefined, userId: staging.id });
      for (const { parts, ...m } of messages) {
        const stored: MessagePart[] = parts.map((p) => (p.type === "text" ? p : { type: "image", attachmentId: attachmentIdFor(attachmentIds, p.sha256) }));
        messageRows.push({ ...m, parts: stored, conversationId: c.id });
        for (const attachmentId of new Set(stored.flatMap((p) => (p.type === "image" ? [p.attachmentId] : [])))) links.push({ messageId: m.id, attachmentId });
      }
      if (conversationRows.length >= BATCH_ROWS || messageRows.length >= BATCH_ROWS) await flush();
    }
    await flush();
    // The one step users can see: short, whatever the size of the import (a few statements).
    await db.$transaction(
      async (tx) => {
        if (newAttachments.length) await tx.attachment.createMany({ data: newAttachments });
        if (links.length) await tx.messageAttachment.createMany({ data: links });
        // Raw SQL: Prisma's updateMany would also set every conversation's updatedAt to now.
        await tx.$executeRaw`UPDATE "Conversation" SET "userId" = ${userId} WHERE "userId" = ${staging.id}`;
        await tx.user.delete({ where: { id: staging.id } });
      },
      { maxWait: 10_000, timeout: 60_000 },
    );
  } catch (err) {
    await db.user.delete({ where: { id: staging.id } }).catch(() => {});
    throw err;
  }
  if (newAttachments.length) wakeImageIndexer();
  return conversations.map((c) => ({ id: c.id, title: c.title }));
}

/**
 * Deletes the stand-in accounts of imports that never finished (the server
 * was killed meanwhile), and with them their rows. Run at start-up and
 * hourly; an import in progress is minutes old at most.
 */
export async function removeStaleImportStaging({ olderThan }: { olderThan: Date }): Promise<number> {
  const { count } = await db.user.deleteMany({ where: { email: { endsWith: STAGING_DOMAIN }, createdAt: { lt: olderThan } } });
  return count;
}

function attachmentIdFor(ids: Map<string, string>, sha256: string): string {
  const id = ids.get(sha256);
  if (!id) throw new Error(`no attachment for image ${sha256}`);
  return id;
}
