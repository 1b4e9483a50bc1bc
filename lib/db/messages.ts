import "server-only";
import { messagePartsSchema, ORPHANED_ANSWER_ERROR, type MessagePart, type MessageStatus } from "@/lib/chat/message-parts";
import { AppError } from "@/lib/errors";
import { activePath, childrenIndex, newestLeaf } from "@/lib/chat/tree";
import { db } from "./client";

const imageIds = (parts: MessagePart[]) => [...new Set(parts.flatMap((p) => (p.type === "image" ? [p.attachmentId] : [])))];

/** What a turn adds to the conversation's tree. */
export type TurnKind =
  /** A new question after the branch shown: after `parentId` (the last message the asker sees) when given. */
  | { kind: "ask"; parts: MessagePart[]; parentId?: string }
  /** A new version of an earlier question (a new branch from there). */
  | { kind: "edit"; parts: MessagePart[]; messageId: string }
  /** Another answer to a question: the one `messageId` answers, or the last one shown. */
  | { kind: "regenerate"; messageId?: string }
  /** More of an answer cut at its length limit: the same message grows. */
  | { kind: "continue"; messageId: string };

/**
 * Starts a turn in one transaction: adds the user's message (a new question,
 * or a new version of an earlier one) unless regenerating, then an empty
 * answer in status `streaming`, and shows that branch. Nothing is deleted:
 * what an edit or a regeneration replaces stays as a version to switch back
 * to. Ownership of the conversation and of every image is checked inside the
 * transaction, so nothing is written for someone else's ids.
 */
export async function beginTurnOrThrow({
  conversationId,
  userId,
  turn,
  model,
  instanceId,
  answerParts = [{ type: "text", text: "" }],
}: {
  conversationId: string;
  userId: string;
  turn: TurnKind;
  model: string;
  /** The app instance that writes the answer (lib/instance/lease.ts). */
  instanceId: string;
  /** What the answer holds while it is written: an empty text, or a generation turn's request (its `generation` part). */
  answerParts?: MessagePart[];
}): Promise<{ userMessageId: string; assistantMessageId: string; prefix: string }> {
  return db.$transaction(async (tx) => {
    // Writing the conversation row first takes its lock, so two turns in one
    // conversation run one after the other and the second sees the first's
    // streaming answer (PostgreSQL; SQLite runs one write transaction at a time anyway).
    const { count } = await tx.conversation.updateMany({ where: { id: conversationId, userId }, data: { model } });
    if (!count) throw new AppError("not_found:conversation", "Conversation not found.");
    const conversation = (await tx.conversation.findFirst({ where: { id: conversationId, userId }, select: { id: true, activeLeafId: true } }))!;
    if (turn.kind === "ask" || turn.kind === "edit") {
      const ids = imageIds(turn.parts);
      const owned = await tx.attachment.count({ where: { id: { in: ids }, userId } });
      if (owned !== ids.length) throw new AppError("not_found:attachment", "Image not found.");
    }
    const nodes = await tx.message.findMany({
      where: { conversationId },
      select: { id: true, parentId: true, createdAt: true, role: true, status: true, position: true },
    });
    if (nodes.some((m) => m.status === "streaming")) {
      throw new AppError("conflict:chat", "An answer is still being written in this conversation. Stop it first.");
    }
    const byId = new Map(nodes.map((m) => [m.id, m]));
    if (turn.kind === "continue") return continueAnswerInTx(tx, { conversationId, nodes, messageId: turn.messageId, model, instanceId });
    const leaf = activePath(nodes, conversation.activeLeafId).at(-1);
    let question: { id: string; position: number };
    if (turn.kind === "regenerate") {
      const target = turn.messageId ? byId.get(turn.messageId) : leaf;
      if (turn.messageId && !target) throw new AppError("not_found:message", "Message not found.");
      const q = target?.role === "assistant" ? (target.parentId ? byId.get(target.parentId) : undefined) : target;
      if (q?.role !== "user") throw new AppError("bad_request:chat", "There is no question to answer again.");
      question = q;
    } else {
      let parentId = leaf?.id ?? null;
      let position = leaf ? leaf.position + 1 : 0;
      if (turn.kind === "ask" && turn.parentId) {
        // What the asker's page shows, even if another tab switched branch meanwhile.
        const after = byId.get(turn.parentId);
        if (!after) throw new AppError("not_found:message", "Message not found.");
        parentId = after.id;
        position = after.position + 1;
      }
      if (turn.kind === "edit") {
        const target = byId.get(turn.messageId);
        if (!target) throw new AppError("not_found:message", "Message not found.");
        if (target.role !== "user") throw new AppError("bad_request:chat", "Only questions can be edited.");
        parentId = target.parentId;
        position = target.position;
      }
      const user = await tx.message.create({
        data: { conversationId, position, role: "user", parts: turn.parts, status: "complete", parentId },
        select: { id: true, position: true },
      });
      const ids = imageIds(turn.parts);
      if (ids.length) await tx.messageAttachment.createMany({ data: ids.map((attachmentId) => ({ messageId: user.id, attachmentId })) });
      question = user;
    }
    const assistant = await tx.message.create({
      data: {
        conversationId,
        position: question.position + 1,
        role: "assistant",
        parts: answerParts,
        status: "streaming",
        instanceId,
        parentId: question.id,
        model,
      },
      select: { id: true },
    });
    await tx.conversation.update({ where: { id: conversationId }, data: { model, activeLeafId: assistant.id } });
    return { userMessageId: question.id, assistantMessageId: assistant.id, prefix: "" };
  });
}

type Tx = Parameters<Parameters<typeof db.$transaction>[0]>[0];

/**
 * Reopens an answer cut at its length limit for more text: the same row,
 * back to `streaming` with its text kept (the prefix the model continues),
 * shown as the branch. Only the last message of its branch, and only an
 * answer that ended at its length limit, can be continued.
 */
async function continueAnswerInTx(
  tx: Tx,
  { conversationId, nodes, messageId, model, instanceId }: { conversationId: string; nodes: { id: string; parentId: string | null }[]; messageId: string; model: string; instanceId: string },
) {
  const row = await tx.message.findFirst({ where: { id: messageId, conversationId }, select: { id: true, role: true, parentId: true, parts: true, finishReason: true, status: true } });
  if (!row) throw new AppError("not_found:message", "Message not found.");
  if (row.role !== "assistant" || row.finishReason !== "length" || row.status !== "complete") {
    throw new AppError("bad_request:chat", "Only an answer cut off at its length limit can be continued.");
  }
  if (nodes.some((n) => n.parentId === row.id)) throw new AppError("bad_request:chat", "Only the last answer of a branch can be continued.");
  const prefix = messagePartsSchema.parse(row.parts).flatMap((p) => (p.type === "text" ? [p.text] : [])).join("");
  await tx.message.update({ where: { id: row.id }, data: { status: "streaming", finishReason: null, error: null, instanceId, model } });
  await tx.conversation.update({ where: { id: conversationId }, data: { model, activeLeafId: row.id } });
  return { userMessageId: row.parentId!, assistantMessageId: row.id, prefix };
}

/** An answer's figures as saved with it; `adapters`: the LoRA adapters it used (absent: none). */
export interface AnswerStatsColumns {
  promptTokens: number;
  reusedTokens: number;
  completionTokens: number;
  ttftMs: number;
  tokensPerSecond: number;
  adapters?: { name: string; scale: number }[];
}

/**
 * Saves the answer's text so far, or its final state with stats. False when
 * nothing was saved: the answer is gone (its conversation was deleted) or
 * already closed.
 */
export async function saveAnswer({
  id,
  text,
  status,
  error,
  stats,
  finishReason,
}: {
  id: string;
  text: string;
  status: MessageStatus;
  error?: string;
  stats?: AnswerStatsColumns;
  finishReason?: string;
}): Promise<boolean> {
  // updateMany: an answer whose conversation was deleted meanwhile is simply
  // gone. Only while it is `streaming`: once closed (by its final save, or by
  // another instance that found this one's lease expired) an answer stays as
  // it was closed, and a late flush cannot reopen it.
  const { count } = await db.message.updateMany({
    where: { id, status: "streaming" },
    data: { parts: [{ type: "text", text }], status, error: error ?? null, finishReason, ...stats },
  });
  return count > 0;
}

/**
 * Saves a generation turn's final state in one transaction: its parts (the
 * `generation` part, and the image part once there is an image), linked to
 * the images they show so they live as long as the message. When the answer
 * is no longer being written (its message or conversation was deleted, or it
 * was closed meanwhile), nothing is saved and the images this turn just put
 * into the library are taken back (those that were there before, being the
 * same bytes, and those some message uses, stay): a generated image exists
 * with its message or not at all. Returns whether it was saved, and the
 * storage keys no attachment uses any more (for the blob store to delete).
 */
export async function saveImageAnswer({
  id,
  userId,
  parts,
  status,
  error,
  createdSince,
}: {
  id: string;
  userId: string;
  parts: MessagePart[];
  status: MessageStatus;
  error?: string;
  /** When the turn started: a generated image stored after it is this turn's own. */
  createdSince: Date;
}): Promise<{ saved: boolean; unusedKeys: string[] }> {
  const ids = imageIds(parts);
  return db.$transaction(async (tx) => {
    const { count } = await tx.message.updateMany({
      where: { id, status: "streaming" },
      data: { parts, status, error: error ?? null, finishReason: status === "stopped" ? "aborted" : status === "complete" ? "stop" : null },
    });
    if (count) {
      if (ids.length) await tx.messageAttachment.createMany({ data: ids.map((attachmentId) => ({ messageId: id, attachmentId })) });
      return { saved: true, unusedKeys: [] };
    }
    const fresh = await tx.attachment.findMany({
      where: { id: { in: ids }, userId, createdAt: { gte: createdSince }, messages: { none: {} } },
      select: { id: true, storageKey: true },
    });
    if (!fresh.length) return { saved: false, unusedKeys: [] };
    await tx.attachment.deleteMany({ where: { id: { in: fresh.map((a) => a.id) } } });
    const keys = [...new Set(fresh.map((a) => a.storageKey))];
    const stillUsed = new Set((await tx.attachment.findMany({ where: { storageKey: { in: keys } }, select: { storageKey: true } })).map((a) => a.storageKey));
    return { saved: false, unusedKeys: keys.filter((k) => !stillUsed.has(k)) };
  });
}

/**
 * The generation request of one of the user's answers (its `generation`
 * part), or null when the answer is a text (or is not in the conversation).
 * Regenerate on a generated image draws again from it.
 */
export async function generationOfAnswer({ conversationId, userId, messageId }: { conversationId: string; userId: string; messageId: string }) {
  const row = await db.message.findFirst({ where: { id: messageId, conversationId, role: "assistant", conversation: { userId } }, select: { parts: true } });
  const parts = row ? (messagePartsSchema.safeParse(row.parts).data ?? []) : [];
  return parts.find((p) => p.type === "generation") ?? null;
}

/**
 * Marks a stop asked for on an answer being written by another instance, in
 * its row's `finishReason` while it is `streaming`: the writer sees it at its
 * next save of the partial text (`flushAnswer`) and stops.
 */
export const STOP_REQUESTED = "stop_requested";

/**
 * Saves an answer's partial text while it is written. Says what the writer
 * should do: go on ("saved"), stop because Stop was pressed on another
 * instance ("stop_requested"), or stop writing because the row was closed
 * meanwhile (by another instance that found this one's lease expired) or is
 * gone (its conversation or message was deleted).
 */
export async function flushAnswer({
  id,
  text,
  parts = [{ type: "text", text }],
}: {
  id: string;
  text: string;
  /** The answer's parts when it is not a text (a generation turn's request); default one text part. */
  parts?: MessagePart[];
}): Promise<"saved" | "stop_requested" | "closed" | "gone"> {
  const { count } = await db.message.updateMany({
    where: { id, status: "streaming", OR: [{ finishReason: null }, { finishReason: { not: STOP_REQUESTED } }] },
    data: { parts },
  });
  if (count) return "saved";
  const row = await db.message.findUnique({ where: { id }, select: { status: true, finishReason: true } });
  if (!row) return "gone";
  return row.status === "streaming" && row.finishReason === STOP_REQUESTED ? "stop_requested" : "closed";
}

/**
 * Asks the writer of the answer being written in one of the user's
 * conversations to stop (see `flushAnswer`). Returns that answer's id and
 * writer, or null when none is being written; someone else's conversation is
 * *not found*.
 */
export async function requestStopOrThrow({ conversationId, userId }: { conversationId: string; userId: string }): Promise<{ id: string; instanceId: string | null } | null> {
  const owned = await db.conversation.count({ where: { id: conversationId, userId } });
  if (!owned) throw new AppError("not_found:conversation", "Conversation not found.");
  const row = await db.message.findFirst({ where: { conversationId, status: "streaming" }, select: { id: true, instanceId: true } });
  if (!row) return null;
  await db.message.updateMany({ where: { id: row.id, status: "streaming" }, data: { finishReason: STOP_REQUESTED } });
  return row;
}

/** The answer being written in one of the user's conversations, if any; someone else's conversation is *not found*. */
export async function streamingAnswerOrThrow({ conversationId, userId }: { conversationId: string; userId: string }) {
  const owned = await db.conversation.count({ where: { id: conversationId, userId } });
  if (!owned) throw new AppError("not_found:conversation", "Conversation not found.");
  return db.message.findFirst({ where: { conversationId, status: "streaming" }, select: { id: true, parentId: true, instanceId: true, model: true } });
}

/** An answer as saved now (text, state, figures), or null when it no longer exists. */
export async function readAnswer(id: string) {
  const row = await db.message.findUnique({
    where: { id },
    select: { parts: true, status: true, error: true, finishReason: true, promptTokens: true, reusedTokens: true, completionTokens: true, ttftMs: true, tokensPerSecond: true, adapters: true },
  });
  if (!row) return null;
  const text = messagePartsSchema.parse(row.parts).flatMap((p) => (p.type === "text" ? [p.text] : [])).join("");
  return { ...row, text, status: row.status as MessageStatus };
}

/**
 * A message and every message below it (its branch), or *not found* for a
 * message that is not in one of the user's conversations. `streaming` names
 * those being written (to stop before deleting them).
 */
export async function messageBranchOrThrow({ conversationId, userId, messageId }: { conversationId: string; userId: string; messageId: string }) {
  const nodes = await db.message.findMany({
    where: { conversationId, conversation: { userId } },
    select: { id: true, parentId: true, createdAt: true, status: true },
  });
  if (!nodes.some((n) => n.id === messageId)) throw new AppError("not_found:message", "Message not found.");
  const index = childrenIndex(nodes);
  const ids: string[] = [];
  for (const queue = [messageId]; queue.length; ) {
    const id = queue.pop()!;
    ids.push(id);
    for (const child of index.get(id) ?? []) queue.push(child.id);
  }
  const set = new Set(ids);
  return { ids, streaming: nodes.filter((n) => set.has(n.id) && n.status === "streaming").map((n) => n.id) };
}

/**
 * Deletes a message with its branch (every message below it). The branch
 * shown moves, when it ran through the message, to the nearest remaining
 * version of it (its previous sibling, else its next one, down their newest
 * messages), or else to its parent.
 */
export async function deleteMessageBranchOrThrow({ conversationId, userId, messageId }: { conversationId: string; userId: string; messageId: string }): Promise<void> {
  await db.$transaction(async (tx) => {
    const conversation = await tx.conversation.findFirst({ where: { id: conversationId, userId }, select: { activeLeafId: true } });
    if (!conversation) throw new AppError("not_found:message", "Message not found.");
    const nodes = await tx.message.findMany({ where: { conversationId }, select: { id: true, parentId: true, createdAt: true } });
    const target = nodes.find((n) => n.id === messageId);
    if (!target) throw new AppError("not_found:message", "Message not found.");
    const index = childrenIndex(nodes);
    const doomed = new Set<string>();
    for (const queue = [messageId]; queue.length; ) {
      const id = queue.pop()!;
      doomed.add(id);
      for (const child of index.get(id) ?? []) queue.push(child.id);
    }
    const shown = activePath(nodes, conversation.activeLeafId);
    let leaf = shown.at(-1)?.id ?? null;
    if (shown.some((n) => doomed.has(n.id))) {
      const kept = nodes.filter((n) => !doomed.has(n.id));
      const siblings = index.get(target.parentId) ?? [];
      const at = siblings.findIndex((n) => n.id === target.id);
      const next = siblings[at - 1] ?? siblings[at + 1];
      leaf = next ? newestLeaf(kept, next.id)!.id : (target.parentId ?? null);
    }
    const ids = [...doomed];
    // Children first is not needed (a parent's removal sets its children's parentId to null), but all go in this transaction.
    for (let i = 0; i < ids.length; i += 500) await tx.message.deleteMany({ where: { conversationId, id: { in: ids.slice(i, i + 500) } } });
    await tx.conversation.update({ where: { id: conversationId }, data: { activeLeafId: leaf } });
  });
}

/** An answer's status, or null when it no longer exists. */
export async function answerStatus(id: string): Promise<string | null> {
  return (await db.message.findUnique({ where: { id }, select: { status: true } }))?.status ?? null;
}

/** The title a conversation has until it is named (the schema's default). */
export const DEFAULT_TITLE = "New conversation";

/** Names the conversation unless the user already renamed it. */
export async function setDefaultTitle({ conversationId, title }: { conversationId: string; title: string }) {
  await db.conversation.updateMany({ where: { id: conversationId, title: DEFAULT_TITLE }, data: { title } });
}

/**
 * Answers left `streaming` by an instance that is gone (killed, hung, or its
 * machine lost): keep their partial text, mark them stopped with the reason.
 * An answer is orphaned when it has no owner (rows from before instance
 * leases), when its owner's lease was just found expired (`dead`), or when
 * its owner holds no lease at all (removed at a clean shutdown that could not
 * save it) and it is older than `startedBefore`, so that an instance whose
 * lease appeared after the caller read them (`live`) is never touched.
 * Run at start-up and then periodically by every instance
 * (lib/instance/lease.ts). Returns how many were closed.
 */
export async function closeOrphanedAnswers({
  live,
  dead,
  startedBefore,
}: {
  live: string[];
  dead: string[];
  startedBefore: Date;
}): Promise<number> {
  // Read first, so that the usual case (nothing orphaned) writes nothing.
  const orphans = await db.message.findMany({
    where: {
      status: "streaming",
      OR: [{ instanceId: null }, { instanceId: { in: dead } }, { instanceId: { notIn: live }, createdAt: { lt: startedBefore } }],
    },
    select: { id: true },
  });
  if (!orphans.length) return 0;
  const { count } = await db.message.updateMany({
    where: { id: { in: orphans.map((m) => m.id) }, status: "streaming" },
    data: { status: "stopped", error: ORPHANED_ANSWER_ERROR },
  });
  return count;
}

/** Storage keys of attachments by id, for building the model's input. */
export async function attachmentKeys(ids: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const unique = [...new Set(ids)];
  // In chunks: SQLite refuses a query with more than a few hundred parameters (P2029).
  for (let i = 0; i < unique.length; i += 500) {
    const rows = await db.attachment.findMany({ where: { id: { in: unique.slice(i, i + 500) } }, select: { id: true, storageKey: true } });
    for (const r of rows) out.set(r.id, r.storageKey);
  }
  return out;
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
    /** The answer's parts when it is more than its text (tool calls); default one text part. */
    parts?: MessagePart[];
    status: MessageStatus;
    error?: string;
    stats: AnswerStatsColumns;
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
        parts: answer.parts ?? [{ type: "text", text: answer.text }],
        status: answer.status,
        error: answer.error ?? null,
        parentId,
        model,
        ...answer.stats,
      },
    });
    return { conversationId: conversation.id };
  });
}
