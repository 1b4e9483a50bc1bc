import "server-only";
import { createHash } from "node:crypto";
import fs from "node:fs/promises";
import type { AttachmentRecord } from "@/lib/db/attachments";
import { getConversationTreesOrThrow, type ArchivedAttachment, type ConversationTree } from "@/lib/db/conversation-archive";
import { blobPath } from "@/lib/storage/blob-store";
import {
  ARCHIVE_FORMAT,
  ARCHIVE_MEDIA_TYPES,
  ARCHIVE_VERSION,
  archiveSettingsSchema,
  type Archive,
  type ArchiveConversation,
  type ArchiveImage,
  type ArchiveMedia,
  type ArchivePart,
} from "./archive-schema";

/**
 * One conversation (`id`) or all of the user's as the JSON export: every
 * branch, status, statistic and setting, with the images' bytes, and the
 * bytes of the videos, audio files, PDFs and tables as they were uploaded
 * (`media`; the import reads them again into their frames, pages…).
 * Another user's id is *not found*.
 */
export async function exportArchive({ userId, id }: { userId: string; id?: string }): Promise<Archive> {
  const { conversations, attachments } = await getConversationTreesOrThrow({ userId, id });
  const images: ArchiveImage[] = [];
  const media: ArchiveMedia[] = [];
  const byId = new Map<string, AttachmentRecord>();
  const imageShas = new Set<string>();
  for (const a of attachments) {
    const bytes = await fs.readFile(blobPath(a.storageKey));
    if (isMediaType(a.mediaType)) {
      media.push({ sha256: a.sha256, mediaType: a.mediaType, data: bytes.toString("base64") });
      byId.set(a.id, a);
      continue;
    }
    // A derived image (a frame, a page) sent on its own is keyed by a hash of its place, not of
    // its bytes: in the file it is an image like any other, named by its bytes' SHA-256.
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    if (!imageShas.has(sha256)) {
      imageShas.add(sha256);
      images.push({
        sha256,
        mediaType: a.mediaType as ArchiveImage["mediaType"],
        width: a.width,
        height: a.height,
        ...generatedFrom(a),
        data: bytes.toString("base64"),
      });
    }
    byId.set(a.id, { ...a, sha256 });
  }
  return {
    format: ARCHIVE_FORMAT,
    version: ARCHIVE_VERSION,
    exportedAt: new Date().toISOString(),
    conversations: conversations.map((c) => toArchiveConversation(c, byId)),
    images,
    ...(media.length ? { media } : {}),
  };
}

/** A generated image's prompt, seed and generator, for the file. */
function generatedFrom(a: ArchivedAttachment): Pick<ArchiveImage, "generated"> {
  return a.generatedBy && a.generatedPrompt ? { generated: { prompt: a.generatedPrompt, seed: a.generatedSeed, generator: a.generatedBy } } : {};
}

const isMediaType = (t: string): t is ArchiveMedia["mediaType"] => (ARCHIVE_MEDIA_TYPES as readonly string[]).includes(t);

/** A conversation in the file's shape; image parts name their image by SHA-256. */
export function toArchiveConversation(c: ConversationTree, attachments: Map<string, AttachmentRecord>): ArchiveConversation {
  const settings = archiveSettingsSchema.nullable().safeParse(c.settings ?? null);
  return {
    id: c.id,
    title: c.title,
    titleByUser: c.titleByUser,
    model: c.model,
    systemPrompt: c.systemPrompt,
    settings: settings.success ? settings.data : null,
    activeLeafId: c.activeLeafId,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
    messages: c.messages.map((m) => ({
      ...m,
      // An image whose attachment is gone cannot travel; the rest of the message does.
      parts: m.parts.flatMap((p): ArchivePart[] => {
        if (p.type === "text") return [p];
        // Tool calls and results (from /v1 with tools) travel as the text they show.
        if (p.type === "tool-call") return [{ type: "text", text: `Tool call: ${p.name}(${p.arguments})` }];
        if (p.type === "tool-result") return [{ type: "text", text: `Tool result${p.name ? ` (${p.name})` : ""}: ${p.text}` }];
        // A generated image travels as its image; what it was generated from is its question's text.
        if (p.type === "generation") return [];
        const attachment = attachments.get(p.attachmentId);
        return attachment ? [{ type: "image", sha256: attachment.sha256 }] : [];
      }),
      createdAt: m.createdAt.toISOString(),
    })),
  };
}
