import "server-only";
import { messagePartsSchema } from "@/lib/chat/message-parts";
import { toFtsQuery } from "@/lib/images/hybrid-rank";
import { db, dialect } from "./client";

/** Attempts before an image that fails to index is left as `failed`. */
const MAX_ATTEMPTS = 3;

export interface PendingImage {
  attachmentId: string;
  userId: string;
  storageKey: string;
}

/**
 * Makes sure every attachment has an index entry (the migration's trigger
 * adds one on insert; this covers databases restored from elsewhere), and
 * queues again the images embedded with another CLIP model than `model`.
 */
export async function ensureImageIndexEntries({ model }: { model: string }): Promise<void> {
  // `WHERE true` lets SQLite tell the upsert's ON CONFLICT from a join's ON.
  // Images only: a video or PDF is indexed through its derived frames and pages.
  await db.$executeRaw`INSERT INTO "ImageIndex" ("attachmentId", "userId", "createdAt") SELECT "id", "userId", "createdAt" FROM "Attachment" WHERE "mediaType" LIKE 'image/%' ON CONFLICT DO NOTHING`;
  await db.imageIndex.updateMany({ where: { status: "indexed", NOT: { embeddingModel: model } }, data: { status: "pending", attempts: 0 } });
}

/** The next images waiting for an embedding, newest first (a new upload is found soon, even during a long back-fill). */
export async function nextPendingImages({ limit }: { limit: number }): Promise<PendingImage[]> {
  const rows = await db.imageIndex.findMany({
    where: { status: "pending" },
    orderBy: [{ createdAt: "desc" }, { attachmentId: "desc" }],
    take: limit,
    select: { attachmentId: true, userId: true, attachment: { select: { storageKey: true } } },
  });
  return rows.map((r) => ({ attachmentId: r.attachmentId, userId: r.userId, storageKey: r.attachment.storageKey }));
}

/** Stores an image's embedding; false when the attachment was deleted meanwhile. */
export async function saveImageEmbedding({ attachmentId, embedding, model }: { attachmentId: string; embedding: Uint8Array<ArrayBuffer>; model: string }): Promise<boolean> {
  const { count } = await db.imageIndex.updateMany({
    where: { attachmentId },
    data: { status: "indexed", embedding, embeddingModel: model, indexedAt: new Date(), error: null },
  });
  return count > 0;
}

/** Records a failed attempt; after MAX_ATTEMPTS the image stays `failed` (and is counted as not indexed). */
export async function markImageIndexFailed({ attachmentId, error }: { attachmentId: string; error: string }): Promise<void> {
  const row = await db.imageIndex.findUnique({ where: { attachmentId }, select: { attempts: true } });
  if (!row) return;
  const attempts = row.attempts + 1;
  await db.imageIndex.updateMany({ where: { attachmentId }, data: { attempts, error: error.slice(0, 500), status: attempts >= MAX_ATTEMPTS ? "failed" : "pending" } });
}

/** How many of the user's images there are, and how many have their embedding. */
export async function getImageIndexStatus({ userId }: { userId: string }): Promise<{ total: number; indexed: number; captioned: number }> {
  const [total, indexed, captioned] = await Promise.all([
    db.imageIndex.count({ where: { userId } }),
    db.imageIndex.count({ where: { userId, status: "indexed" } }),
    db.imageIndex.count({ where: { userId, captionStatus: "done" } }),
  ]);
  return { total, indexed, captioned };
}

export interface ImageEmbeddings {
  ids: string[];
  /** Row-major, `dim` floats per id. */
  matrix: Float32Array;
  dim: number;
}

/** Every indexed embedding of the user's (the input of an exact cosine search). */
export async function getUserEmbeddings({ userId, model }: { userId: string; model: string }): Promise<ImageEmbeddings> {
  const rows = await db.imageIndex.findMany({
    where: { userId, status: "indexed", embeddingModel: model },
    select: { attachmentId: true, embedding: true },
  });
  const usable = rows.filter((r) => r.embedding && r.embedding.byteLength > 0);
  const dim = usable.length ? usable[0]!.embedding!.byteLength / 4 : 0;
  const matrix = new Float32Array(usable.length * dim);
  usable.forEach((r, i) => matrix.set(new Float32Array(r.embedding!.buffer.slice(r.embedding!.byteOffset, r.embedding!.byteOffset + dim * 4) as ArrayBuffer), i * dim));
  return { ids: usable.map((r) => r.attachmentId), matrix, dim };
}

/**
 * A cheap fingerprint of the user's indexed embeddings (how many, and the
 * newest), so a cached matrix can tell that another instance indexed or
 * deleted an image since it was loaded.
 */
export async function userEmbeddingsVersion({ userId, model }: { userId: string; model: string }): Promise<string> {
  const { _count, _max } = await db.imageIndex.aggregate({
    where: { userId, status: "indexed", embeddingModel: model },
    _count: { _all: true },
    _max: { indexedAt: true },
  });
  return `${_count._all}:${_max.indexedAt?.getTime() ?? 0}`;
}

/** One image's embedding, if it is the user's and indexed. */
export async function getImageEmbedding({ id, userId }: { id: string; userId: string }): Promise<Uint8Array | null> {
  const row = await db.imageIndex.findFirst({ where: { attachmentId: id, userId, status: "indexed" }, select: { embedding: true } });
  return row?.embedding ?? null;
}

export interface ImageCard {
  id: string;
  mediaType: string;
  width: number;
  height: number;
  byteSize: number;
  createdAt: Date;
  caption: string | null;
  /** The conversation (and message) the image was first sent in; null for an upload never sent. */
  conversationId: string | null;
  messageId: string | null;
  /** For an image the app drew (issue 28): its prompt, seed and generator; null for uploads. */
  generated: { prompt: string; seed: number | null; generator: string } | null;
  /**
   * For an image derived from an upload (a video frame, a PDF page, a chart,
   * a spectrogram): that upload and the place in it ("Frame 2, 0:01" at 1.05 s,
   * "Page 3"), so opening the result goes to that moment or page. The
   * conversation above is then the source's.
   */
  source: { id: string; mediaType: string; label: string; time: number | null; page: number | null } | null;
}

const cardSelect = {
  attachmentId: true,
  caption: true,
  createdAt: true,
  attachment: {
    select: {
      mediaType: true,
      width: true,
      height: true,
      byteSize: true,
      messages: { take: 1, orderBy: { message: { createdAt: "asc" } }, select: { message: { select: { id: true, conversationId: true } } } },
      sourceId: true,
      placeLabel: true,
      placeTime: true,
      placePage: true,
      generatedPrompt: true,
      generatedSeed: true,
      generatedBy: true,
      source: {
        select: {
          mediaType: true,
          messages: { take: 1, orderBy: { message: { createdAt: "asc" } }, select: { message: { select: { id: true, conversationId: true } } } },
        },
      },
    },
  },
} as const;

type CardRow = {
  attachmentId: string;
  caption: string | null;
  createdAt: Date;
  attachment: {
    mediaType: string;
    width: number;
    height: number;
    byteSize: number;
    messages: { message: { id: string; conversationId: string } }[];
    sourceId: string | null;
    placeLabel: string | null;
    placeTime: number | null;
    placePage: number | null;
    generatedPrompt: string | null;
    generatedSeed: number | null;
    generatedBy: string | null;
    source: { mediaType: string; messages: { message: { id: string; conversationId: string } }[] } | null;
  };
};

const toCard = (r: CardRow): ImageCard => ({
  id: r.attachmentId,
  mediaType: r.attachment.mediaType,
  width: r.attachment.width,
  height: r.attachment.height,
  byteSize: r.attachment.byteSize,
  createdAt: r.createdAt,
  caption: r.caption,
  conversationId: (r.attachment.source ?? r.attachment).messages[0]?.message.conversationId ?? null,
  messageId: (r.attachment.source ?? r.attachment).messages[0]?.message.id ?? null,
  generated:
    r.attachment.generatedPrompt !== null
      ? { prompt: r.attachment.generatedPrompt, seed: r.attachment.generatedSeed, generator: r.attachment.generatedBy ?? "" }
      : null,
  source:
    r.attachment.sourceId && r.attachment.source
      ? { id: r.attachment.sourceId, mediaType: r.attachment.source.mediaType, label: r.attachment.placeLabel ?? "", time: r.attachment.placeTime, page: r.attachment.placePage }
      : null,
});

export interface ImageFilter {
  userId: string;
  /** Only images sent in this conversation. */
  conversationId?: string;
  /** Only images stored at or after this time. */
  from?: Date;
  /** Only images stored before this time. */
  to?: Date;
}

const filterWhere = ({ userId, conversationId, from, to }: ImageFilter) => ({
  userId,
  ...(from || to ? { createdAt: { ...(from ? { gte: from } : {}), ...(to ? { lt: to } : {}) } } : {}),
  ...(conversationId ? { attachment: { messages: { some: { message: { conversationId } } } } } : {}),
});

/** A page of the user's images, newest first; `cursor` is the last id of the previous page. */
export async function listImages({ cursor, limit, ...filter }: ImageFilter & { cursor?: string; limit: number }): Promise<{ items: ImageCard[]; nextCursor: string | null }> {
  const rows = await db.imageIndex.findMany({
    where: filterWhere(filter),
    orderBy: [{ createdAt: "desc" }, { attachmentId: "desc" }],
    ...(cursor ? { cursor: { attachmentId: cursor }, skip: 1 } : {}),
    take: limit + 1,
    select: cardSelect,
  });
  const page = rows.slice(0, limit);
  return { items: page.map(toCard), nextCursor: rows.length > limit ? page.at(-1)!.attachmentId : null };
}

/** The user's images with these ids that pass the filter, in the given order (others are skipped). */
export async function getImageCards({ ids, ...filter }: ImageFilter & { ids: string[] }): Promise<ImageCard[]> {
  if (!ids.length) return [];
  const rows = await db.imageIndex.findMany({ where: { ...filterWhere(filter), attachmentId: { in: ids } }, select: cardSelect });
  const byId = new Map(rows.map((r) => [r.attachmentId, toCard(r)]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}

/** The refreshes of this process, one after another (see refreshStaleImageText). */
const refreshes: { tail: Promise<unknown> } = ((globalThis as { __imageTextRefreshes?: { tail: Promise<unknown> } }).__imageTextRefreshes ??= { tail: Promise.resolve() });

/**
 * Rebuilds the full-text rows (caption + chat text around the image) of up
 * to `limit` images whose text is marked stale (by the migration's triggers,
 * or by a new caption). Returns how many were rebuilt.
 *
 * One at a time in a process: a refresh clears a row's mark before it writes
 * the row's text, so a search's refresh running beside the indexer's could
 * find nothing stale and search before that text was written (seen on a
 * loaded machine: an image not found by the question it was sent with, just
 * answered). Another instance's indexer can still open that window.
 */
export function refreshStaleImageText(args: { limit: number; userId?: string }): Promise<number> {
  const run = refreshes.tail.then(() => refreshStaleImageTextNow(args));
  refreshes.tail = run.catch(() => undefined);
  return run;
}

async function refreshStaleImageTextNow({ limit, userId }: { limit: number; userId?: string }): Promise<number> {
  const stale = await db.imageIndex.findMany({
    where: { textStale: true, ...(userId ? { userId } : {}) },
    take: limit,
    select: { attachmentId: true, userId: true, caption: true },
  });
  for (const row of stale) {
    // Cleared before reading: a message written meanwhile marks it stale again, never lost.
    await db.imageIndex.updateMany({ where: { attachmentId: row.attachmentId }, data: { textStale: false } });
    const context = await chatTextAround(row.attachmentId);
    const caption = (await db.imageIndex.findUnique({ where: { attachmentId: row.attachmentId }, select: { caption: true } }))?.caption ?? null;
    if (dialect === "postgresql") {
      // One row per image (its primary key), so an upsert: two refreshes at once cannot collide.
      await db.$executeRaw`INSERT INTO "ImageText" ("attachmentId", "userId", "caption", "context")
        SELECT ${row.attachmentId}, ${row.userId}, ${caption ?? ""}, ${context} WHERE EXISTS (SELECT 1 FROM "ImageIndex" WHERE "attachmentId" = ${row.attachmentId})
        ON CONFLICT ("attachmentId") DO UPDATE SET "caption" = excluded."caption", "context" = excluded."context"`;
    } else {
      await db.$transaction([
        db.$executeRaw`DELETE FROM "ImageText" WHERE "attachmentId" = ${row.attachmentId}`,
        db.$executeRaw`INSERT INTO "ImageText" ("attachmentId", "userId", "caption", "context") SELECT ${row.attachmentId}, ${row.userId}, ${caption ?? ""}, ${context} WHERE EXISTS (SELECT 1 FROM "ImageIndex" WHERE "attachmentId" = ${row.attachmentId})`,
      ]);
    }
  }
  return stale.length;
}

/** The prompt a generated image was drawn from, then the text of the questions it was sent with and of their finished answers. */
async function chatTextAround(attachmentId: string): Promise<string> {
  const generated = await db.attachment.findUnique({ where: { id: attachmentId }, select: { generatedPrompt: true } });
  const questions = await db.message.findMany({
    where: { attachments: { some: { attachmentId } } },
    select: { parts: true, children: { where: { role: "assistant", status: { in: ["complete", "stopped"] } }, select: { parts: true } } },
  });
  const text = (parts: unknown) =>
    (messagePartsSchema.safeParse(parts).data ?? []).flatMap((p) => (p.type === "text" ? [p.text] : [])).join(" ");
  const chat = questions.flatMap((q) => [text(q.parts), ...q.children.map((c) => text(c.parts))]);
  return [...(generated?.generatedPrompt ? [generated.generatedPrompt] : []), ...chat].join("\n").slice(0, 20_000);
}

export interface TextHit {
  id: string;
  /**
   * Text relevance, negative, lower is better (SQLite: FTS5's bm25;
   * PostgreSQL: minus ts_rank). Only its ratio to the best hit's is used.
   */
  bm25: number;
  /** The words that matched in the caption, lower-case. */
  captionWords: string[];
  /** The words that matched in the chat text around the image, lower-case. */
  chatWords: string[];
}

/** The words wrapped in \u0001…\u0002 by FTS5's highlight() or ts_headline() (adjacent matches may share one pair). */
const marked = (s: string) => [...s.matchAll(/\u0001([^\u0002]*)\u0002/g)].flatMap((m) => m[1]!.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);

/**
 * Full-text hits among the user's images for any of `words` (letters and
 * digits only, as `queryWords` makes them), each prefix-matched and stemmed;
 * best first: a caption match weighs twice a chat-text match, and texts with
 * more of the words rank higher. SQLite: the FTS5 table `ImageText` (porter
 * stemmer). PostgreSQL: the same table with a weighted tsvector column and
 * a GIN index (english stemmer); ts_rank with caption weight 1.0 and chat
 * text 0.5 stands in for bm25(2.0, 1.0).
 */
export async function searchImageText({ userId, words, limit }: { userId: string; words: string[]; limit: number }): Promise<TextHit[]> {
  const safe = words.filter((w) => /^[\p{L}\p{N}]+$/u.test(w));
  if (!safe.length) return [];
  const rows =
    dialect === "postgresql"
      ? await db.$queryRaw<{ id: string; bm25: number; c: string; x: string }[]>`
    WITH q AS (SELECT to_tsquery('english', ${safe.map((w) => `${w}:*`).join(" | ")}) AS query),
    hits AS (
      SELECT t."attachmentId", t."caption", t."context", -ts_rank('{0, 0, 0.5, 1.0}', t."search", q.query, 1) AS bm25, q.query
      FROM "ImageText" t, q WHERE t."search" @@ q.query AND t."userId" = ${userId}
      ORDER BY bm25, t."attachmentId" LIMIT ${limit}
    )
    SELECT "attachmentId" AS id, bm25,
           ts_headline('english', "caption", query, 'HighlightAll=true, StartSel=' || chr(1) || ', StopSel=' || chr(2)) AS c,
           ts_headline('english', "context", query, 'HighlightAll=true, StartSel=' || chr(1) || ', StopSel=' || chr(2)) AS x
    FROM hits ORDER BY bm25, "attachmentId"`
      : await db.$queryRaw<{ id: string; bm25: number; c: string; x: string }[]>`
    SELECT "attachmentId" AS id, bm25("ImageText", 0, 0, 2.0, 1.0) AS bm25,
           highlight("ImageText", 2, char(1), char(2)) AS c, highlight("ImageText", 3, char(1), char(2)) AS x
    FROM "ImageText" WHERE "ImageText" MATCH ${toFtsQuery(safe)!} AND "userId" = ${userId}
    ORDER BY bm25 LIMIT ${limit}`;
  return rows.map((r) => ({ id: r.id, bm25: Number(r.bm25), captionWords: marked(r.c), chatWords: marked(r.x) }));
}

/** The next indexed images that still need a caption, oldest first. */
export async function nextImagesToCaption({ limit }: { limit: number }): Promise<PendingImage[]> {
  const rows = await db.imageIndex.findMany({
    where: { status: "indexed", captionStatus: "pending" },
    orderBy: [{ createdAt: "desc" }, { attachmentId: "desc" }],
    take: limit,
    select: { attachmentId: true, userId: true, attachment: { select: { storageKey: true } } },
  });
  return rows.map((r) => ({ attachmentId: r.attachmentId, userId: r.userId, storageKey: r.attachment.storageKey }));
}

/** Stores a caption (or records that none could be written) and queues its full-text row. */
export async function saveImageCaption({ attachmentId, caption }: { attachmentId: string; caption: string | null }): Promise<void> {
  await db.imageIndex.updateMany({
    where: { attachmentId },
    data: caption ? { caption, captionStatus: "done", textStale: true } : { captionStatus: "failed" },
  });
}
