/**
 * Hybrid ranking of a text query over a user's images: CLIP text→image
 * cosine combined with full-text hits (captions and chat text). Pure code,
 * shared by the search route and `npm run bench:search`.
 */

export type MatchReason = "visual" | "caption" | "chat";

export interface TextHitScore {
  id: string;
  /** The full-text relevance: SQLite's bm25, or minus PostgreSQL's ts_rank (negative; lower is better). */
  bm25: number;
  /** The words full-text search matched in the caption (as written there, lower-case). */
  captionWords: string[];
  /** The words full-text search matched in the chat text around the image. */
  chatWords: string[];
}

export interface RankedImage {
  id: string;
  /** 0..1: the mean of the visual and the text relevance. */
  score: number;
  reasons: MatchReason[];
}

/**
 * Visual relevance at or above this (1 = the best image in the library,
 * 0 = the library's mean similarity) counts as a visual match.
 */
export const VISUAL_MATCH = 0.75;
/**
 * The lowest raw CLIP cosine (text→image) that can count as a visual match, per CLIP model
 * folder: the rescaled relevance above makes the library's best image a match for any query
 * ("purple hexagon" found a blue square at 0.80), so a match must also clear this absolute floor.
 *
 * shapes-clip (shipped): 0.77, measured with `npx tsx bench/clip-floor.ts` on every colour × kind
 * drawn alone at three sizes plus the project's shape images (public/samples, tests/fixtures), for
 * the encoders retrained on dark, coloured and textured backgrounds (2026-12-08): true matches p5
 * 0.866, median 0.902 (one at 0.527); false ones ≤ 0.761 (p99 0.737); the best image for a query
 * the world has no answer to (purple hexagon, green star, a dog) 0.72–0.83. Scenes of several
 * shapes score lower for true matches too (median 0.39): captions and chat text find those.
 * Other CLIP models have other cosine scales (OpenAI's sit near 0.2–0.35): they get no absolute
 * floor until measured the same way.
 */
export const VISUAL_FLOORS: Readonly<Record<string, number>> = { "shapes-clip": 0.77 };

/** The visual floor for a CLIP model folder (`VISUAL_FLOORS`); -1 (none) for a model not calibrated. */
export const visualFloor = (clipModelId: string): number => VISUAL_FLOORS[clipModelId] ?? -1;

/** Text relevance kept when a text has every word but not in the query's order. */
export const OUT_OF_ORDER = 0.7;
/**
 * Weight of the visual relevance in the hybrid score (the text relevance has
 * the rest). Chosen with `npm run bench:search` on one gallery (0.5–0.9
 * swept; 0.8 best at recall@1 and @5) and confirmed on another seed (bench/RESULTS.md).
 */
export const VISUAL_WEIGHT = 0.8;

/**
 * Ranks the images that match visually or by text, best first. Visual
 * relevance is the cosine rescaled to the library (mean → 0, best → 1), so
 * it means the same for any CLIP model; text relevance is bm25 relative to
 * the best text hit, times the share of the query's words the text has (a
 * caption naming half of "red circle" is half a match). A caption or chat
 * match is a reason only when that text has every word. Images that match
 * for no reason are left out.
 */
export function rankHybrid({
  ids,
  visual,
  text,
  words,
  visualWeight = VISUAL_WEIGHT,
  floor = -1,
}: {
  ids: string[];
  /** Raw cosine of each image (text→image). */
  visual: Float32Array;
  text: TextHitScore[];
  /** The query's searchable words (`queryWords(q)`). */
  words: string[];
  visualWeight?: number;
  /** The raw cosine a visual match needs at least (`visualFloor`); default -1, none. */
  floor?: number;
}): RankedImage[] {
  const byId = new Map<string, { v: number; t: number; reasons: Set<MatchReason> }>();
  const entry = (id: string) => byId.get(id) ?? byId.set(id, { v: 0, t: 0, reasons: new Set() }).get(id)!;
  if (ids.length) {
    let best = -Infinity;
    let sum = 0;
    for (const s of visual) {
      best = Math.max(best, s);
      sum += s;
    }
    const mean = sum / visual.length;
    const span = best - mean;
    const textIds = new Set(text.map((h) => h.id));
    // Only images that can end up in the result get an entry: a visual match, or a text hit.
    for (let i = 0; i < ids.length; i++) {
      // One image alone (span 0) is its own best match.
      const v = span > 1e-6 ? (visual[i]! - mean) / span : 1;
      const looksLike = v >= VISUAL_MATCH && visual[i]! >= floor;
      if (!looksLike && !textIds.has(ids[i]!)) continue;
      const e = entry(ids[i]!);
      if (looksLike) e.reasons.add("visual");
      if (v > 0) e.v = v;
    }
  }
  const bestText = Math.min(0, ...text.map((h) => h.bm25));
  const matches = (f: string, w: string) => f.startsWith(w) || w.startsWith(f);
  const covered = (found: string[]) => words.filter((w) => found.some((f) => matches(f, w))).length / Math.max(1, words.length);
  // The words in the query's order ("red circle left of a blue square" is not "blue square … red circle").
  const inOrder = (found: string[]) => {
    let at = -1;
    return words.every((w) => (at = found.findIndex((f, i) => i > at && matches(f, w))) >= 0);
  };
  for (const hit of text) {
    const e = entry(hit.id);
    const inCaption = covered(hit.captionWords);
    const inChat = covered(hit.chatWords);
    const ordered = inOrder(hit.captionWords) || inOrder(hit.chatWords);
    e.t = (bestText < 0 ? hit.bm25 / bestText : 1) * Math.max(inCaption, covered([...hit.captionWords, ...hit.chatWords])) * (ordered ? 1 : OUT_OF_ORDER);
    if (inCaption === 1) e.reasons.add("caption");
    if (inChat === 1) e.reasons.add("chat");
  }
  return [...byId]
    .filter(([, e]) => e.reasons.size > 0)
    .map(([id, e]) => ({ id, score: visualWeight * e.v + (1 - visualWeight) * e.t, reasons: [...e.reasons] }))
    .sort((a, b) => b.score - a.score || a.id.localeCompare(b.id));
}

const STOPWORDS = new Set(["a", "an", "the", "of", "and", "or", "with", "in", "on", "to", "is", "are", "image", "picture", "photo"]);

/** The searchable words of a query: lower-case letters and digits, without stopwords, at most 16. */
export function queryWords(q: string): string[] {
  return [...new Set((q.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => !STOPWORDS.has(w)))].slice(0, 16);
}

/**
 * Query words → an FTS5 expression: each word quoted (no operators reach
 * FTS5), prefix-matched, any of them (bm25 ranks texts with more of them
 * first); null when there is no word.
 */
export function toFtsQuery(words: string[]): string | null {
  return words.length ? words.map((w) => `"${w}"*`).join(" OR ") : null;
}

/**
 * A query in the form CLIP's captions take ("red circle" → "A red circle."):
 * CLIP models match short sentences better than bare keywords.
 */
export function toClipPrompt(q: string): string {
  const t = q.trim().replace(/[.!?]+$/, "");
  const withArticle = /^(a|an|the|some|two|three|\d+)\s/i.test(t) ? t : `${/^[aeiou]/i.test(t) ? "an" : "a"} ${t}`;
  return `${withArticle[0]!.toUpperCase()}${withArticle.slice(1)}.`;
}
