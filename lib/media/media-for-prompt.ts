import "server-only";
import { getMediaAttachments } from "@/lib/db/attachments";
import { db } from "@/lib/db/client";
import { loadedEngine } from "@/lib/engine/get-engine";
import { env } from "@/lib/env";
import type { MediaForPrompt } from "./prompt-parts";
import type { MediaInfo } from "./types";

/** Share of the loaded model's context a reader's text (an audio transcript, a document's text layer) may take. */
const TEXT_CONTEXT_SHARE = 0.3;

/**
 * Of these attachment ids, the media uploads with what the prompt builder
 * needs (their cached derived parts). An audio upload also carries its
 * stored file when the loaded model hears audio (its projector has an
 * audio encoder): it is then sent as audio, not as its spectrogram.
 */
export async function mediaForPrompt(ids: string[]): Promise<Map<string, MediaForPrompt>> {
  const rows = await getMediaAttachments([...new Set(ids)]);
  const info = loadedEngine()?.info;
  const hears = Boolean(info?.audio);
  // A transcript or a document's text takes at most about 30 % of the context (counted as one
  // token per character, as the demo model's are): a text-heavy PDF's 2 000 characters and its
  // page images would not fit the demo model's prompt budget (half of 2 048) at all.
  const maxTextChars = info?.contextSize ? Math.max(200, Math.min(4_000, Math.floor(info.contextSize * TEXT_CONTEXT_SHARE))) : undefined;
  const audioIds = hears ? [...rows.values()].filter((m) => m.mediaType.startsWith("audio/")).map((m) => m.id) : [];
  const sources = audioIds.length
    ? new Map((await db.attachment.findMany({ where: { id: { in: audioIds } }, select: { id: true, storageKey: true } })).map((r) => [r.id, r.storageKey]))
    : new Map<string, string>();
  return new Map(
    [...rows].map(([id, m]) => [
      id,
      {
        mediaType: m.mediaType,
        info: JSON.parse(m.mediaInfo) as MediaInfo,
        derived: m.derived,
        maxPages: env.PDF_PROMPT_PAGES,
        ...(maxTextChars ? { maxTextChars } : {}),
        ...(sources.has(id) ? { audioFile: sources.get(id)! } : {}),
      },
    ]),
  );
}
