import "server-only";
import { messagePartsSchema, type MessagePart, type MessageRole, type MessageStatus } from "@/lib/chat/message-parts";
import { readSettings, type SamplingSettings } from "@/lib/chat/settings";
import { activePath, allBranchKeys, branchKey, newestLeaf, versionsOnPath } from "@/lib/chat/tree";
import { z } from "zod";
import { AppError } from "@/lib/errors";
import type { Prisma } from "@prisma/client";
import { db, DbNull, dialect } from "./client";

const summarySelect = {
  id: true,
  title: true,
  titleByUser: true,
  model: true,
  folderId: true,
  pinnedAt: true,
  archivedAt: true,
  createdAt: true,
  updatedAt: true,
} as const;

export interface ConversationSummary {
  id: string;
  title: string;
  /** True once the user renamed it; generated titles never replace such a title. */
  titleByUser: boolean;
  model: string | null;
  /** The sidebar folder it is filed in; null = the top level. */
  folderId: string | null;
  /** When it was pinned to the top of the sidebar; null = not pinned. */
  pinnedAt: Date | null;
  /** When it was archived (out of the sidebar, listed under Archived); null = not archived. */
  archivedAt: Date | null;
  createdAt: Date;
  /** Last activity (a new message). Renames and generated titles leave it as it was. */
  updatedAt: Date;
}

export interface StoredMessage {
  id: string;
  position: number;
  role: MessageRole;
  parts: MessagePart[];
  status: MessageStatus;
  error: string | null;
  parentId: string | null;
  finishReason: string | null;
  model: string | null;
  promptTokens: number | null;
  reusedTokens: number | null;
  completionTokens: number | null;
  ttftMs: number | null;
  tokensPerSecond: number | null;
  /** LoRA adapters the answer used; absent: none. */
  adapters?: AnswerAdapters;
  createdAt: Date;
}

export type AnswerAdapters = { name: string; scale: number }[];
const answerAdaptersSchema = z.array(z.object({ name: z.string(), scale: z.number() })).min(1);

/** The `adapters` column read leniently: anything but a non-empty [{ name, scale }] counts as none. */
export function answerAdapters(value: unknown): AnswerAdapters | undefined {
  const parsed = answerAdaptersSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

const notFound = () => new AppError("not_found:conversation", "Conversation not found.");

/**
 * Which of the caller's conversations a list holds:
 * - `main`, the sidebar's dated list: not archived and in no folder, the
 *   pinned ones (in any folder) first, newest pin first; then most recently active first;
 * - `archived`: the archived ones, most recently archived first;
 * - `folder`: the chats filed in `folderId` (not archived, not pinned), most recently active first;
 * - a search (`q`) looks through all of them, archived and filed ones too, most recently active first.
 */
export type ConversationView = "main" | "archived" | "folder";

/**
 * The caller's conversations in one `view` (see ConversationView), a page at
 * a time: `cursor` is the id of the last conversation of the previous page.
 */
export async function listConversations({
  userId,
  cursor,
  limit,
  q,
  view = "main",
  folderId,
}: {
  userId: string;
  cursor?: string;
  limit: number;
  /** Case-insensitive search over titles and message text (every view). */
  q?: string;
  view?: ConversationView;
  /** With view `folder`: the folder (the caller's; checked by the caller). */
  folderId?: string;
}): Promise<{ conversations: ConversationSummary[]; nextCursor: string | null }> {
  const matching = q ? await searchConversationIds({ userId, q }) : null;
  const byActivity: Prisma.ConversationOrderByWithRelationInput[] = [{ updatedAt: "desc" }, { id: "desc" }];
  const [where, orderBy]: [Prisma.ConversationWhereInput, Prisma.ConversationOrderByWithRelationInput[]] = matching
    ? [{ id: { in: matching } }, byActivity]
    : view === "archived"
      ? [{ archivedAt: { not: null } }, [{ archivedAt: "desc" }, { id: "desc" }]]
      : view === "folder"
        ? [{ archivedAt: null, pinnedAt: null, folderId: folderId ?? "" }, byActivity]
        : [{ archivedAt: null, OR: [{ pinnedAt: { not: null } }, { folderId: null }] }, [{ pinnedAt: { sort: "desc", nulls: "last" } }, ...byActivity]];
  const rows = await db.conversation.findMany({
    where: { userId, ...where },
    orderBy,
    take: limit + 1,
    ...(cursor ? { cursor: { id: cursor, userId }, skip: 1 } : {}),
    select: summarySelect,
  });
  const hasMore = rows.length > limit;
  const conversations = hasMore ? rows.slice(0, limit) : rows;
  return { conversations, nextCursor: hasMore ? conversations.at(-1)!.id : null };
}

/** Ids of the user's conversations whose title or any message text contains `q`. */
async function searchConversationIds({ userId, q }: { userId: string; q: string }): Promise<string[]> {
  // LIKE with escaped wildcards; message parts are JSON text, so match inside it.
  const pattern = `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  // Quoted identifiers: PostgreSQL folds unquoted ones to lower case. Its
  // jsonb has no lower(), so the parts are cast to their JSON text there.
  const rows =
    dialect === "postgresql"
      ? await db.$queryRaw<{ id: string }[]>`
    SELECT c."id" FROM "Conversation" c
    WHERE c."userId" = ${userId}
      AND (lower(c."title") LIKE ${pattern} ESCAPE '\\'
        OR EXISTS (SELECT 1 FROM "Message" m WHERE m."conversationId" = c."id" AND lower(m."parts"::text) LIKE ${pattern} ESCAPE '\\'))`
      : await db.$queryRaw<{ id: string }[]>`
    SELECT c."id" FROM "Conversation" c
    WHERE c."userId" = ${userId}
      AND (lower(c."title") LIKE ${pattern} ESCAPE '\\'
        OR EXISTS (SELECT 1 FROM "Message" m WHERE m."conversationId" = c."id" AND lower(m."parts") LIKE ${pattern} ESCAPE '\\'))`;
  return rows.map((r) => r.id);
}

export function createConversation({
  userId,
  title,
  systemPrompt,
  model,
  settings,
}: {
  userId: string;
  title?: string;
  systemPrompt?: string;
  model?: string;
  settings?: SamplingSettings;
}): Promise<ConversationSummary> {
  return db.conversation.create({
    data: { userId, title, systemPrompt, model, settings },
    select: summarySelect,
  });
}

/**
 * The conversation with all its messages (every branch), the branch shown
 * (`path`, root first) and, per message on it, its versions. Another user's
 * id is *not found*.
 */
export async function getConversationOrThrow({ id, userId }: { id: string; userId: string }) {
  const row = await db.conversation.findFirst({
    where: { id, userId },
    select: {
      ...summarySelect,
      systemPrompt: true,
      settings: true,
      activeLeafId: true,
      messages: { orderBy: [{ position: "asc" }, { createdAt: "asc" }] },
    },
  });
  if (!row) throw notFound();
  const messages: StoredMessage[] = row.messages.map(({ conversationId: _c, instanceId: _i, ...m }) => ({
    ...m,
    role: m.role as MessageRole,
    status: m.status as MessageStatus,
    parts: messagePartsSchema.parse(m.parts),
    adapters: answerAdapters(m.adapters),
  }));
  const path = activePath(messages, row.activeLeafId);
  return { ...row, settings: readSettings(row.settings) as SamplingSettings, messages, path, versions: versionsOnPath(messages, path) };
}

/** Throws *not found* unless the conversation exists and is the user's: no message is read. */
export async function assertConversationOwnedOrThrow({ id, userId }: { id: string; userId: string }): Promise<void> {
  if (!(await db.conversation.count({ where: { id, userId } }))) throw notFound();
}

/**
 * What an answer needs of its conversation, read in bounded work however
 * long the conversation: its settings, the branch ending at `leafId` (light
 * rows: ids, parents, times, for the tree's pure functions), the cache key
 * of that branch, and the full messages (parts) of at most `maxMessages` of
 * the branch's last messages before the leaf. A message costs at least one
 * token, so a context window of N tokens never holds more than N of them:
 * older ones are not read at all.
 */
export async function getAnswerContextOrThrow({
  id,
  userId,
  leafId,
  maxMessages,
}: {
  id: string;
  userId: string;
  /** The answer being written. */
  leafId: string;
  maxMessages: number;
}): Promise<{
  title: string;
  systemPrompt: string | null;
  settings: SamplingSettings;
  /** The branch's light rows, root first, the leaf last. */
  path: { id: string; parentId: string | null; createdAt: Date }[];
  branchKey: string;
  /** The last messages before the leaf, oldest first, full; `omitted` older ones on the branch were not read. */
  history: StoredMessage[];
  omitted: number;
}> {
  const row = await db.conversation.findFirst({ where: { id, userId }, select: { title: true, systemPrompt: true, settings: true } });
  if (!row) throw notFound();
  const nodes = await db.message.findMany({ where: { conversationId: id }, select: { id: true, parentId: true, createdAt: true } });
  const path = activePath(nodes, leafId);
  const before = path.slice(0, -1);
  const wanted = before.slice(Math.max(0, before.length - maxMessages));
  const rows = [];
  // In chunks: SQLite refuses a query with more than a few hundred parameters (P2029).
  for (let i = 0; i < wanted.length; i += 500) {
    rows.push(...(await db.message.findMany({ where: { conversationId: id, id: { in: wanted.slice(i, i + 500).map((m) => m.id) } } })));
  }
  const byId = new Map(rows.map((m) => [m.id, m]));
  const history = wanted.flatMap((w) => {
    const m = byId.get(w.id);
    if (!m) return [];
    const { conversationId: _c, instanceId: _i, ...rest } = m;
    return [{ ...rest, role: m.role as MessageRole, status: m.status as MessageStatus, parts: messagePartsSchema.parse(m.parts), adapters: answerAdapters(m.adapters) }];
  });
  return {
    title: row.title,
    systemPrompt: row.systemPrompt,
    settings: readSettings(row.settings) as SamplingSettings,
    path,
    branchKey: branchKey(id, nodes, path),
    history,
    omitted: before.length - wanted.length,
  };
}

/**
 * Shows another branch: the one through `messageId`, down its newest
 * messages. Returns the conversation as `getConversationOrThrow` does.
 */
export async function switchBranchOrThrow({ id, userId, messageId }: { id: string; userId: string; messageId: string }) {
  const nodes = await db.message.findMany({ where: { conversationId: id, conversation: { userId } }, select: { id: true, parentId: true, createdAt: true, status: true } });
  if (!nodes.some((n) => n.id === messageId)) throw new AppError("not_found:message", "Message not found.");
  if (nodes.some((n) => n.status === "streaming")) {
    throw new AppError("conflict:chat", "An answer is still being written in this conversation. Switch versions when it is done.");
  }
  const leaf = newestLeaf(nodes, messageId)!;
  // Looking at another version is not activity: the conversation keeps its place in the list.
  await updateKeepingActivity({ where: { id, userId }, data: { activeLeafId: leaf.id } });
  return getConversationOrThrow({ id, userId });
}

/**
 * Renames, changes the system prompt or sampling settings, files it in a
 * folder (or back at the top level: null), pins or unpins, archives or
 * unarchives it; another user's id is *not found*, and so is another user's
 * folder. A rename marks the title as the user's own. None of these counts
 * as activity: the conversation keeps its place among the dates. Archiving
 * keeps its folder and pin, so unarchiving puts it back where it was.
 */
export async function updateConversationOrThrow({
  id,
  userId,
  title,
  systemPrompt,
  settings,
  folderId,
  pinned,
  archived,
}: {
  id: string;
  userId: string;
  title?: string;
  systemPrompt?: string | null;
  settings?: SamplingSettings | null;
  folderId?: string | null;
  pinned?: boolean;
  archived?: boolean;
}): Promise<ConversationSummary> {
  if (folderId && !(await db.folder.count({ where: { id: folderId, userId } }))) throw new AppError("not_found:folder", "Folder not found.");
  const now = new Date();
  const updated = await updateKeepingActivity({
    where: { id, userId },
    data: {
      title,
      ...(title !== undefined ? { titleByUser: true } : {}),
      systemPrompt,
      ...(settings !== undefined ? { settings: settings ?? DbNull } : {}),
      folderId,
      ...(pinned !== undefined ? { pinnedAt: pinned ? now : null } : {}),
      ...(archived !== undefined ? { archivedAt: archived ? now : null } : {}),
    },
  });
  if (!updated) throw notFound();
  return db.conversation.findUniqueOrThrow({ where: { id }, select: summarySelect });
}

/**
 * Replaces the title with one the model wrote, unless the user has renamed
 * the conversation meanwhile. Returns whether the title was replaced.
 */
export async function setGeneratedTitle({ id, title }: { id: string; title: string }): Promise<boolean> {
  return updateKeepingActivity({ where: { id, titleByUser: false }, data: { title } });
}

/**
 * Updates one conversation without moving it in the list: `updatedAt` is
 * Prisma's @updatedAt, which any write would bump, so it is written back
 * explicitly. Returns false when no row matched `where`.
 */
async function updateKeepingActivity({
  where,
  data,
}: {
  where: Prisma.ConversationWhereInput & { id: string };
  data: Prisma.ConversationUncheckedUpdateManyInput;
}): Promise<boolean> {
  return db.$transaction(async (tx) => {
    const row = await tx.conversation.findFirst({ where, select: { updatedAt: true } });
    if (!row) return false;
    await tx.conversation.updateMany({ where, data: { ...data, updatedAt: row.updatedAt } });
    return true;
  });
}

/**
 * Deletes the conversation, its messages, and the attachments that only it
 * used. Returns the storage keys no attachment row refers to any more, for
 * the blob store to remove after the transaction committed.
 */
export async function deleteConversationOrThrow({
  id,
  userId,
}: {
  id: string;
  userId: string;
}): Promise<{ orphanedStorageKeys: string[]; sessionKeys: string[] }> {
  return db.$transaction(async (tx) => {
    const conversation = await tx.conversation.findFirst({ where: { id, userId }, select: { id: true } });
    if (!conversation) throw notFound();
    const nodes = await tx.message.findMany({ where: { conversationId: id }, select: { id: true, parentId: true, createdAt: true } });
    const used = await tx.messageAttachment.findMany({
      where: { message: { conversationId: id } },
      select: { attachmentId: true },
      distinct: ["attachmentId"],
    });
    await tx.conversation.delete({ where: { id } });
    const orphans = await tx.attachment.findMany({
      where: { id: { in: used.map((u) => u.attachmentId) }, messages: { none: {} } },
      select: { id: true, storageKey: true, derived: { select: { storageKey: true } } },
    });
    // Deleting an upload deletes what was derived from it (frames, pages…: a cascade), files included.
    await tx.attachment.deleteMany({ where: { id: { in: orphans.map((o) => o.id) } } });
    const keys = [...new Set(orphans.flatMap((o) => [o.storageKey, ...o.derived.map((d) => d.storageKey)]))];
    const stillUsed = await tx.attachment.findMany({
      where: { storageKey: { in: keys } },
      select: { storageKey: true },
    });
    const stillUsedKeys = new Set(stillUsed.map((a) => a.storageKey));
    return { orphanedStorageKeys: keys.filter((k) => !stillUsedKeys.has(k)), sessionKeys: allBranchKeys(id, nodes) };
  });
}
