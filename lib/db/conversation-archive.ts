import "server-only";
import { messagePartsSchema, type MessagePart, type MessageRole, type MessageStatus } from "@/lib/chat/message-parts";
import { AppError } from "@/lib/errors";
import type { AttachmentRecord } from "./attachments";
import type { StoredMessage } from "./conversations";
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

const attachmentSelect = { id: true, sha256: true, mediaType: true, width: true, height: true, byteSize: true, storageKey: true, createdAt: true } as const;

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
}): Promise<{ conversations: ConversationTree[]; attachments: AttachmentRecord[] }> {
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
      })),
    }));
    const ids = [...new Set(conversations.flatMap((c) => c.messages.flatMap((m) => m.parts.flatMap((p) => (p.type === "image" ? [p.attachmentId] : [])))))];
    const attachments = ids.length ? await tx.attachment.findMany({ where: { id: { in: ids }, userId }, select: attachmentSelect }) : [];
    return { conversations, attachments };
  });
}

/** A message to insert: images are named by the SHA-256 of an attachment in the same call. */
export interface NewTreeMessage extends Omit<TreeMessage, "id" | "parentId" | "parts"> {
  /** A key unique within its conversation, for `parentKey` and `activeLeafKey`. */
  key: string;
  parentKey: string | null;
  parts: ({ type: "text"; text: string } | { type: "image"; sha256: string })[];
}

export interface NewConversationTree extends Omit<ConversationTree, "id" | "activeLeafId" | "messages"> {
  activeLeafKey: string | null;
  /** Parents before their children. */
  messages: NewTreeMessage[];
}

/**
 * Inserts whole conversations for the user in one transaction, with new
 * ids: nothing is written unless everything is. Attachments are the user's
 * own, found by SHA-256 (the same image is one attachment, as for uploads)
 * or created; their files must already be in the blob store.
 */
export async function insertConversationTrees({
  userId,
  conversations,
  attachments,
}: {
  userId: string;
  conversations: NewConversationTree[];
  attachments: Omit<AttachmentRecord, "id" | "createdAt">[];
}): Promise<{ id: string; title: string }[]> {
  return db.$transaction(
    async (tx) => {
      const attachmentIds = new Map<string, string>();
      for (const a of attachments) {
        const row = await tx.attachment.upsert({
          where: { userId_sha256: { userId, sha256: a.sha256 } },
          create: { ...a, userId },
          update: {},
          select: { id: true },
        });
        attachmentIds.set(a.sha256, row.id);
      }
      const created: { id: string; title: string }[] = [];
      for (const { activeLeafKey, messages, ...c } of conversations) {
        const conversation = await tx.conversation.create({ data: { ...c, settings: c.settings ?? undefined, userId }, select: { id: true } });
        const ids = new Map<string, string>();
        for (const { key, parentKey, parts, ...m } of messages) {
          const parentId = parentKey === null ? null : ids.get(parentKey);
          if (parentId === undefined) throw new Error(`message ${key} comes before its parent ${parentKey}`);
          const stored: MessagePart[] = parts.map((p) => (p.type === "text" ? p : { type: "image", attachmentId: attachmentIdFor(attachmentIds, p.sha256) }));
          const row = await tx.message.create({ data: { ...m, parts: stored, parentId, conversationId: conversation.id }, select: { id: true } });
          ids.set(key, row.id);
          const used = [...new Set(stored.flatMap((p) => (p.type === "image" ? [p.attachmentId] : [])))];
          if (used.length) await tx.messageAttachment.createMany({ data: used.map((attachmentId) => ({ messageId: row.id, attachmentId })) });
        }
        // updatedAt given explicitly: an update would otherwise set it to now.
        await tx.conversation.update({
          where: { id: conversation.id },
          data: { activeLeafId: activeLeafKey === null ? null : (ids.get(activeLeafKey) ?? null), updatedAt: c.updatedAt },
        });
        created.push({ id: conversation.id, title: c.title });
      }
      return created;
    },
    // A large import is many inserts; SQLite does them quickly but not within the 5 s default.
    { maxWait: 10_000, timeout: 120_000 },
  );
}

function attachmentIdFor(ids: Map<string, string>, sha256: string): string {
  const id = ids.get(sha256);
  if (!id) throw new Error(`no attachment for image ${sha256}`);
  return id;
}
