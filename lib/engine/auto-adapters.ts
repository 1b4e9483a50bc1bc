import type { MediaInfo } from "../media/types";
import type { AdapterRequest, CatalogAdapter } from "./adapters";

/**
 * Adapters chosen by what a conversation shows the model (ADAPTERS_AUTO):
 * a chart from a CSV turns on the chart adapter, a spectrogram the audio
 * one. Pure functions: the configuration is parsed once by lib/env.
 */

/** The attachment kinds an adapter can be for (`lvc.adapter.kinds`), as the media readers produce them. */
export const ATTACHMENT_KINDS = ["image", "chart", "spectrogram", "audio", "video", "page"] as const;
export type AttachmentKind = (typeof ATTACHMENT_KINDS)[number];

/**
 * What the model is shown for an upload: a still image; a chart (a table
 * the data reader charted); a spectrogram (audio, for a model that does not
 * hear it) or the audio itself; video frames; PDF pages. A table without a
 * chart is text only: no kind.
 */
export function attachmentKindOf(info: MediaInfo | null, { heardAsAudio = false } = {}): AttachmentKind | null {
  if (!info) return "image";
  switch (info.kind) {
    case "data":
      return info.chart ? "chart" : null;
    case "audio":
      return heardAsAudio ? "audio" : "spectrogram";
    case "video":
      return "video";
    case "pdf":
      return "page";
  }
}

/** `ADAPTERS_AUTO`: attachment kind → adapter name, or "kinds" (each adapter's own `lvc.adapter.kinds`). */
export type AutoAdapters = { mode: "off" } | { mode: "map"; map: Record<string, string> } | { mode: "kinds" };

/**
 * The adapters turned on automatically for an answer whose conversation
 * has attachments of these kinds. A configured name the model does not have
 * (or refuses) is skipped: an automatic choice never fails an answer.
 */
export function autoAdapters(auto: AutoAdapters, kinds: Iterable<string>, available: CatalogAdapter[]): AdapterRequest[] {
  const present = new Set(kinds);
  const usable = available.filter((a) => !a.refused);
  let names: string[] = [];
  if (auto.mode === "map") names = [...present].flatMap((k) => (auto.map[k] ? [auto.map[k]!] : []));
  else if (auto.mode === "kinds") names = usable.filter((a) => a.kinds.some((k) => present.has(k))).map((a) => a.name);
  return [...new Set(names)].filter((n) => usable.some((a) => a.name === n)).map((name) => ({ name }));
}

/** Parses `ADAPTERS_AUTO` ("chart=chart-skill,spectrogram=audio-skill", "kinds", or empty). */
export function parseAutoAdapters(value: string | undefined): AutoAdapters {
  const v = value?.trim();
  if (!v || v === "off") return { mode: "off" };
  if (v === "kinds") return { mode: "kinds" };
  const map: Record<string, string> = {};
  for (const part of v.split(",").map((p) => p.trim()).filter(Boolean)) {
    const m = /^([a-z]+)\s*=\s*([A-Za-z0-9._-]+)$/.exec(part);
    if (!m) throw new Error(`"${part}" is not kind=adapter-name`);
    if (!(ATTACHMENT_KINDS as readonly string[]).includes(m[1]!)) throw new Error(`"${m[1]}" is not an attachment kind (${ATTACHMENT_KINDS.join(", ")})`);
    map[m[1]!] = m[2]!;
  }
  return { mode: "map", map };
}
