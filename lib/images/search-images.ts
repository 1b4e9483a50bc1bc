import "server-only";
import { getImageCards, listImages, refreshStaleImageText, searchImageText, type ImageCard, type ImageFilter } from "@/lib/db/image-index";
import { getClipModel } from "./clip-model";
import { queryWords, rankHybrid, toClipPrompt, visualFloor, type MatchReason } from "./hybrid-rank";
import { userEmbeddings } from "./user-embeddings";
import { cosineScores, topK } from "./vector-search";
import { softmaxOverLabels } from "./zero-shot";

/** Full-text hits considered per query. */
const TEXT_HITS = 200;
/** Ranked results kept per query (later pages page through these). */
const MAX_RESULTS = 500;

export interface ImageHit extends ImageCard {
  url: string;
  /** Relevance 0..1 (null when listing without a query). */
  score: number | null;
  reasons: MatchReason[];
}

export interface ImagePage {
  items: ImageHit[];
  nextCursor: string | null;
}

const hit = (card: ImageCard, score: number | null, reasons: MatchReason[]): ImageHit => ({ ...card, url: `/api/uploads/${card.id}`, score, reasons });

/**
 * The user's images: newest first without `q`; with `q`, ranked by the
 * hybrid of CLIP text→image similarity and full-text search over captions
 * and chat text, each hit saying why it matched. Only ever the caller's images.
 * With a query the cursor is an offset into the ranking.
 */
export async function searchImages({ q, cursor, limit, ...filter }: ImageFilter & { q?: string; cursor?: string; limit: number }): Promise<ImagePage> {
  if (!q?.trim()) {
    const page = await listImages({ ...filter, cursor, limit });
    return { items: page.items.map((c) => hit(c, null, [])), nextCursor: page.nextCursor };
  }
  const clip = await getClipModel();
  // Text that changed since the indexer last ran (a message just sent) is searchable at once.
  await refreshStaleImageText({ userId: filter.userId, limit: 1000 });
  const words = queryWords(q);
  const [[query], embeddings, text] = await Promise.all([
    clip.embedTexts([toClipPrompt(q)]),
    userEmbeddings({ userId: filter.userId, model: clip.id }),
    words.length ? searchImageText({ userId: filter.userId, words, limit: TEXT_HITS }) : [],
  ]);
  const visual = cosineScores(embeddings.matrix, embeddings.dim, query!);
  const ranked = rankHybrid({ ids: embeddings.ids, visual, text, words, floor: visualFloor(clip.id) }).slice(0, MAX_RESULTS);
  const cards = await getImageCards({ ...filter, ids: ranked.map((r) => r.id) });
  const byId = new Map(ranked.map((r) => [r.id, r]));
  const all = cards.map((c) => hit(c, round(byId.get(c.id)!.score), byId.get(c.id)!.reasons));
  const offset = Math.max(0, Number.parseInt(cursor ?? "0", 10) || 0);
  const items = all.slice(offset, offset + limit);
  return { items, nextCursor: offset + limit < all.length ? String(offset + limit) : null };
}

/** The user's images that look most like one of theirs (CLIP image→image), best first, without itself. */
export async function similarImages({ id, limit, ...filter }: ImageFilter & { id: string; limit: number }): Promise<ImageHit[]> {
  const clip = await getClipModel();
  const embeddings = await userEmbeddings({ userId: filter.userId, model: clip.id });
  const at = embeddings.ids.indexOf(id);
  if (at < 0) return [];
  const query = embeddings.matrix.subarray(at * embeddings.dim, (at + 1) * embeddings.dim);
  const scores = cosineScores(embeddings.matrix, embeddings.dim, query);
  scores[at] = -Infinity;
  const best = topK(scores, Math.min(limit, embeddings.ids.length - 1));
  const cards = await getImageCards({ ...filter, ids: best.map((i) => embeddings.ids[i]!) });
  const score = new Map(best.map((i) => [embeddings.ids[i]!, scores[i]!]));
  return cards.map((c) => hit(c, round(score.get(c.id)!), ["visual"]));
}

/**
 * The whole library grouped by CLIP zero-shot labels: each indexed image goes
 * to its most likely label (score = that probability), best first within a
 * label, at most `limit` per label. The labels' text is embedded once.
 */
export async function groupByLabels({ labels, limit, ...filter }: ImageFilter & { labels: string[]; limit: number }): Promise<{ label: string; items: ImageHit[] }[]> {
  const clip = await getClipModel();
  const [texts, embeddings] = await Promise.all([clip.embedTexts(labels.map(toClipPrompt)), userEmbeddings({ userId: filter.userId, model: clip.id })]);
  const groups = labels.map(() => [] as { id: string; p: number }[]);
  for (let i = 0; i < embeddings.ids.length; i++) {
    const probabilities = softmaxOverLabels(clip.logitScale, texts, embeddings.matrix.subarray(i * embeddings.dim, (i + 1) * embeddings.dim));
    const best = probabilities.indexOf(Math.max(...probabilities));
    groups[best]!.push({ id: embeddings.ids[i]!, p: probabilities[best]! });
  }
  return Promise.all(
    labels.map(async (label, g) => {
      const top = groups[g]!.sort((a, b) => b.p - a.p).slice(0, limit);
      const cards = await getImageCards({ ...filter, ids: top.map((t) => t.id) });
      const p = new Map(top.map((t) => [t.id, t.p]));
      return { label, items: cards.map((c) => hit(c, round(p.get(c.id)!), ["visual"])) };
    }),
  );
}

const round = (x: number) => Math.round(x * 1000) / 1000;
