import "server-only";
import type { MessagePart, MessageStatus } from "@/lib/chat/message-parts";
import { AppError } from "@/lib/errors";
import { db } from "./client";

const imageIds = (parts: MessagePart[]) => [...new Set(parts.flatMap((p) => (p.type === "image" ? [p.attachmentId] : [])))];

/**
 * Starts a turn in one transaction: optionally removes the conversation's
 * last messages (regenerate / edit), appends the user's message (unless
 * regenerating) and an empty assistant message in status `streaming`.
 * Ownership of the conversation and of every image is checked inside the
 * transaction, so nothing is written for someone else's ids.
 */
export async function beginTurnOrThrow({
  conversationId,
  userId,
  userParts,
  dropLast,
  model,
}: {
  conversationId: string;
  userId: string;
  /** The new user message, or null to answer the existing last user message again. */
  userParts: MessagePart[] | null;
  /** Messages to remove from the end first (1 = last answer, 2 = last question and answer). */
  dropLast: number;
  model: string;
}): Promise<{ userMessageId: string; assistantMessageId: string }> {
  return db.$transaction(async (tx) => {
    const conversation = await tx.conversation.findFirst({ where: { id: conversationId, userId }, select: { id: true } });
    if (!conversation) throw new AppError("not_found:conversation", "Conversation not found.");
    if (userParts) {
      const ids = imageIds(userParts);
      const owned = await tx.attachment.count({ where: { id: { in: ids }, userId } });
      if (owned !== ids.length) throw new AppError("not_found:attachment", "Image not found.");
    }
    if (dropLast > 0) {
      const last = await tx.message.findMany({
        where: { conversationId },
        orderBy: { position: "desc" },
        take: dropLast,
        select: { id: true, role: true, status: true },
      });
      if (last.some((m) => m.status === "streaming")) {
        throw new AppError("conflict:chat", "An answer is still being written in this conversation. Stop it first.");
      }
      await tx.message.deleteMany({ where: { id: { in: last.map((m) => m.id) } } });
    }
    const tail = await tx.message.findFirst({ where: { conversationId }, orderBy: { position: "desc" }, select: { id: true, position: true, role: true, status: true } });
    if (tail?.status === "streaming") {
      throw new AppError("conflict:chat", "An answer is still being written in this conversation. Stop it first.");
    }
    let position = (tail?.position ?? -1) + 1;
    let userMessageId: string;
    if (userParts) {
      const user = await tx.message.create({
        data: { conversationId, position: position++, role: "user", parts: userParts, status: "complete" },
        select: { id: true },
      });
      userMessageId = user.id;
      const ids = imageIds(userParts);
      if (ids.length) await tx.messageAttachment.createMany({ data: ids.map((attachmentId) => ({ messageId: user.id, attachmentId })) });
    } else {
      if (tail?.role !== "user") throw new AppError("bad_request:chat", "There is no question to answer again.");
      userMessageId = tail.id;
    }
    const assistant = await tx.message.create({
      data: { conversationId, position, role: "assistant", parts: [{ type: "text", text: "" }], status: "streaming", parentId: userMessageId },
      select: { id: true },
    });
    await tx.conversation.update({ where: { id: conversationId }, data: { model } });
    return { userMessageId, assistantMessageId: assistant.id };
  });
}

/** Saves the answer's text so far, or its final state with stats. */
export async function saveAnswer({
  id,
  text,
  status,
  error,
  stats,
}: {
  id: string;
  text: string;
  status: MessageStatus;
  error?: string;
  stats?: { promptTokens: number; reusedTokens: number; completionTokens: number; ttftMs: number; tokensPerSecond: number };
}): Promise<void> {
  await db.message.update({
    where: { id },
    data: { parts: [{ type: "text", text }], status, error: error ?? null, ...stats },
  });
}

/** The title a conversation has until it is named (the schema's default). */
export const DEFAULT_TITLE = "New conversation";

/** Names the conversation unless the user already renamed it. */
export async function setDefaultTitle({ conversationId, title }: { conversationId: string; title: string }) {
  await db.conversation.updateMany({ where: { id: conversationId, title: DEFAULT_TITLE }, data: { title } });
}

/**
 * Answers left `streaming` by a process that died mid-answer: keep their
 * partial text, mark them stopped with the reason. Run at start-up.
 */
export async function closeOrphanedAnswers(): Promise<number> {
  const { count } = await db.message.updateMany({
    where: { status: "streaming" },
    data: { status: "stopped", error: "The server stopped while this answer was being written." },
  });
  return count;
}

/** Storage keys of attachments by id, for building the model's input. */
export async function attachmentKeys(ids: string[]): Promise<Map<string, string>> {
  const rows = await db.attachment.findMany({ where: { id: { in: ids } }, select: { id: true, storageKey: true } });
  return new Map(rows.map((r) => [r.id, r.storageKey]));
}

/**
 * Saves a whole exchange made through the API (`store: true`) as a new
 * conversation in one transaction: the system message becomes its system
 * prompt, every other message and the answer are appended with their images.
 */
export async function saveExchange({
  userId,
  title,
  model,
  messages,
  answer,
}: {
  userId: string;
  title: string;
  model: string;
  messages: { role: "system" | "user" | "assistant"; parts: MessagePart[] }[];
  answer: {
    text: string;
    status: MessageStatus;
    error?: string;
    stats: { promptTokens: number; reusedTokens: number; completionTokens: number; ttftMs: number; tokensPerSecond: number };
  };
}): Promise<{ conversationId: string }> {
  const text = (parts: MessagePart[]) => parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("\n");
  const systemPrompt = messages.filter((m) => m.role === "system").map((m) => text(m.parts)).join("\n") || null;
  const turns = messages.filter((m) => m.role !== "system");
  return db.$transaction(async (tx) => {
    const conversation = await tx.conversation.create({ data: { userId, title, model, systemPrompt }, select: { id: true } });
    let parentId: string | null = null;
    for (const [position, m] of turns.entries()) {
      const row: { id: string } = await tx.message.create({
        data: { conversationId: conversation.id, position, role: m.role, parts: m.parts, status: "complete", parentId },
        select: { id: true },
      });
      parentId = row.id;
      const ids = imageIds(m.parts);
      if (ids.length) await tx.messageAttachment.createMany({ data: ids.map((attachmentId) => ({ messageId: row.id, attachmentId })) });
    }
    await tx.message.create({
      data: {
        conversationId: conversation.id,
        position: turns.length,
        role: "assistant",
        parts: [{ type: "text", text: answer.text }],
        status: answer.status,
        error: answer.error ?? null,
        parentId,
        ...answer.stats,
      },
    });
    return { conversationId: conversation.id };
  });
}
