import "server-only";
import { getMediaAttachments } from "@/lib/db/attachments";
import { env } from "@/lib/env";
import type { MediaForPrompt } from "./prompt-parts";
import type { MediaInfo } from "./types";

/** Of these attachment ids, the media uploads with what the prompt builder needs (their cached derived parts). */
export async function mediaForPrompt(ids: string[]): Promise<Map<string, MediaForPrompt>> {
  const rows = await getMediaAttachments([...new Set(ids)]);
  return new Map(
    [...rows].map(([id, m]) => [id, { mediaType: m.mediaType, info: JSON.parse(m.mediaInfo) as MediaInfo, derived: m.derived, maxPages: env.PDF_PROMPT_PAGES }]),
  );
}
