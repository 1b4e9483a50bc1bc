import { z } from "zod";
import { messageRoles, messageStatuses } from "@/lib/chat/message-parts";
import { samplingSettingsSchema, SYSTEM_PROMPT_MAX } from "@/lib/chat/settings";
import { IMAGE_LIMITS, MAX_SEED } from "@/lib/imagegen/limits";

/**
 * The JSON export format, version 1. One file holds any number of
 * conversations (each its whole message tree) and the images they use, once
 * each, keyed by SHA-256, and the other files they use (videos, audio,
 * PDFs, tables: `media`, their bytes as uploaded; what was read from them —
 * frames, pages, a chart, a spectrogram — is read again on import, like an
 * upload). Ids inside a file only link its parts together:
 * an import gives everything new ids, so a file can never point at rows
 * that already exist (anyone's).
 *
 * ```json
 * { "format": "local-vision-chat", "version": 1, "exportedAt": "…",
 *   "conversations": [{ "id", "title", …, "activeLeafId", "messages": [{ "id", "parentId", "parts": [
 *     { "type": "text", "text" }, { "type": "image", "sha256" }] , … }] }],
 *   "images": [{ "sha256", "mediaType", "width", "height", "data": "<base64>",
 *               "generated"?: { "prompt", "seed", "generator" } }],
 *   "media": [{ "sha256", "mediaType", "data": "<base64>" }] }
 * ```
 *
 * An `image` part names an entry of `images` or of `media` (optional; files
 * without it are read as before).
 *
 * ```json
 * ```
 */
export const ARCHIVE_FORMAT = "local-vision-chat";
export const ARCHIVE_VERSION = 1;

/**
 * What one import may hold. Each bounds the work (and memory) one request
 * can cause; a file over one is refused whole, with a message naming it.
 */
export const IMPORT_LIMITS = {
  conversations: 10_000,
  /** Messages of one conversation, all its branches. */
  messagesPerConversation: 20_000,
  /** Messages in the whole file. */
  messages: 100_000,
  /** Longest branch (questions and answers) of one conversation. */
  depth: 20_000,
  images: 10_000,
  /** Videos, audio files, PDFs and tables (each read again on import: their frames, pages…). */
  media: 200,
} as const;

const SHA256 = /^[0-9a-f]{64}$/;
/** Ids are the exporter's; only their uniqueness within the file matters. */
const fileId = z.string().min(1).max(100);
const timestamp = z.iso.datetime({ offset: true });
const count = z.number().int().min(0).nullable();

export const archivePartSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text"), text: z.string().max(1_000_000) }).strict(),
  z.object({ type: z.literal("image"), sha256: z.string().regex(SHA256, "must be the image's SHA-256 (64 hex digits)") }).strict(),
]);
export type ArchivePart = z.infer<typeof archivePartSchema>;

export const archiveMessageSchema = z.object({
  id: fileId,
  /** The message this one follows (an id in the same conversation), or null for a first question. */
  parentId: fileId.nullable(),
  /** Depth in the tree (0 = first question). */
  position: z.number().int().min(0).max(1_000_000),
  role: z.enum(messageRoles),
  parts: z.array(archivePartSchema).max(1000),
  status: z.enum(messageStatuses),
  error: z.string().max(10_000).nullable(),
  finishReason: z.string().max(100).nullable(),
  model: z.string().max(500).nullable(),
  promptTokens: count,
  reusedTokens: count,
  completionTokens: count,
  ttftMs: count,
  tokensPerSecond: z.number().min(0).nullable(),
  createdAt: timestamp,
});
export type ArchiveMessage = z.infer<typeof archiveMessageSchema>;

/** Per-conversation sampling settings: the same rules as the settings panel and API (unknown keys refused). */
export const archiveSettingsSchema = samplingSettingsSchema;

/** A conversation with its messages not yet looked at (the import checks them one by one, between turns of the event loop). */
export const archiveConversationHeadSchema = z.object({
  id: fileId,
  title: z.string().min(1).max(200),
  titleByUser: z.boolean(),
  model: z.string().max(500).nullable(),
  systemPrompt: z.string().max(SYSTEM_PROMPT_MAX).nullable(),
  settings: archiveSettingsSchema.nullable(),
  /** The last message of the branch shown; null = the newest message. */
  activeLeafId: fileId.nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
  messages: z.array(z.unknown()).max(IMPORT_LIMITS.messagesPerConversation),
});

export const archiveConversationSchema = archiveConversationHeadSchema
  .extend({ messages: z.array(archiveMessageSchema).max(IMPORT_LIMITS.messagesPerConversation) })
  .superRefine((c, ctx) => {
    const ids = new Set<string>();
    for (const [i, m] of c.messages.entries()) {
      if (ids.has(m.id)) ctx.addIssue({ code: "custom", path: ["messages", i, "id"], message: `the message id ${JSON.stringify(m.id)} appears twice` });
      ids.add(m.id);
    }
    for (const [i, m] of c.messages.entries()) {
      if (m.parentId !== null && !ids.has(m.parentId)) {
        ctx.addIssue({ code: "custom", path: ["messages", i, "parentId"], message: "must be the id of a message in the same conversation" });
      }
    }
    if (c.activeLeafId !== null && !ids.has(c.activeLeafId)) {
      ctx.addIssue({ code: "custom", path: ["activeLeafId"], message: "must be the id of a message in the same conversation" });
    }
    if (hasCycle(c.messages)) ctx.addIssue({ code: "custom", path: ["messages"], message: "the parentId links form a loop" });
  });
export type ArchiveConversation = z.infer<typeof archiveConversationSchema>;

/** An image entry less its bytes (`data`), which the import decodes and checks apart. */
export const archiveImageMetaSchema = z.object({
  sha256: z.string().regex(SHA256, "must be 64 lowercase hex digits"),
  mediaType: z.enum(["image/png", "image/jpeg"]),
  width: z.number().int().min(1),
  height: z.number().int().min(1),
  /**
   * A generated image's prompt, seed and generator (absent for uploads and in older files).
   * Caps looser than the generator's own, so a file made before a limit was lowered still imports.
   */
  generated: z
    .object({
      prompt: z.string().min(1).max(10 * IMAGE_LIMITS.promptChars),
      seed: z.number().int().min(0).max(MAX_SEED).nullable(),
      generator: z.string().min(1).max(1000),
    })
    .strict()
    .optional(),
});

export const archiveImageSchema = archiveImageMetaSchema.extend({
  /** The stored bytes, base64. */
  data: z.base64(),
});
export type ArchiveImage = z.infer<typeof archiveImageSchema>;

/** The media types a media upload is stored with (see lib/media/sniff.ts); the import reads the kind from the bytes again. */
export const ARCHIVE_MEDIA_TYPES = [
  "video/mp4",
  "video/quicktime",
  "video/webm",
  "video/x-matroska",
  "image/gif",
  "image/webp",
  "audio/wav",
  "audio/ogg",
  "audio/flac",
  "audio/mpeg",
  "audio/mp4",
  "application/pdf",
  "text/csv",
  "text/tab-separated-values",
  "application/json",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
] as const;

/** A file name an upload of this type would have had (the readers of tables tell CSV from TSV from JSON by it). */
export const MEDIA_FILE_EXT: Record<(typeof ARCHIVE_MEDIA_TYPES)[number], string> = {
  "video/mp4": "mp4",
  "video/quicktime": "mov",
  "video/webm": "webm",
  "video/x-matroska": "mkv",
  "image/gif": "gif",
  "image/webp": "webp",
  "audio/wav": "wav",
  "audio/ogg": "ogg",
  "audio/flac": "flac",
  "audio/mpeg": "mp3",
  "audio/mp4": "m4a",
  "application/pdf": "pdf",
  "text/csv": "csv",
  "text/tab-separated-values": "tsv",
  "application/json": "json",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
};

/** A media entry less its bytes (`data`). */
export const archiveMediaMetaSchema = z
  .object({
    sha256: z.string().regex(SHA256, "must be 64 lowercase hex digits"),
    mediaType: z.enum(ARCHIVE_MEDIA_TYPES, `must be the media type of a video, audio file, PDF or table (${ARCHIVE_MEDIA_TYPES.join(", ")})`),
  })
  .strict();

export const archiveMediaSchema = archiveMediaMetaSchema.extend({
  /** The file's bytes as uploaded, base64. */
  data: z.base64(),
});
export type ArchiveMedia = z.infer<typeof archiveMediaSchema>;

export const archiveSchema = z
  .object({
    format: z.literal(ARCHIVE_FORMAT),
    version: z.literal(ARCHIVE_VERSION),
    exportedAt: timestamp,
    conversations: z.array(archiveConversationSchema).max(IMPORT_LIMITS.conversations),
    images: z.array(archiveImageSchema).max(IMPORT_LIMITS.images),
    media: z.array(archiveMediaSchema).max(IMPORT_LIMITS.media).optional(),
  })
  .superRefine((a, ctx) => {
    const shas = new Set<string>();
    for (const [i, image] of a.images.entries()) {
      if (shas.has(image.sha256)) ctx.addIssue({ code: "custom", path: ["images", i, "sha256"], message: "this image appears twice" });
      shas.add(image.sha256);
    }
    for (const [i, media] of (a.media ?? []).entries()) {
      if (shas.has(media.sha256)) ctx.addIssue({ code: "custom", path: ["media", i, "sha256"], message: "this file appears twice" });
      shas.add(media.sha256);
    }
    for (const [ci, c] of a.conversations.entries()) {
      for (const [mi, m] of c.messages.entries()) {
        for (const [pi, p] of m.parts.entries()) {
          if (p.type === "image" && !shas.has(p.sha256)) {
            ctx.addIssue({ code: "custom", path: ["conversations", ci, "messages", mi, "parts", pi, "sha256"], message: "no image with this SHA-256 is in the file" });
          }
        }
      }
    }
  });
export type Archive = z.infer<typeof archiveSchema>;

/** True if following parentId from some message comes back to it. */
function hasCycle(messages: { id: string; parentId: string | null }[]): boolean {
  const parent = new Map(messages.map((m) => [m.id, m.parentId]));
  const safe = new Set<string>();
  for (const { id } of messages) {
    const seen = new Set<string>();
    let at: string | null | undefined = id;
    while (at != null && !safe.has(at)) {
      if (seen.has(at)) return true;
      seen.add(at);
      at = parent.get(at);
    }
    for (const s of seen) safe.add(s);
  }
  return false;
}
