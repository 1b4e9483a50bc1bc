import "server-only";
import fs from "node:fs/promises";
import type { AttachmentRecord } from "@/lib/db/attachments";
import { getConversationTreesOrThrow, type ConversationTree } from "@/lib/db/conversation-archive";
import { blobPath } from "@/lib/storage/blob-store";
import { ARCHIVE_FORMAT, ARCHIVE_VERSION, archiveSettingsSchema, type Archive, type ArchiveConversation, type ArchiveImage, type ArchivePart } from "./archive-schema";

/**
 * One conversation (`id`) or all of the user's as the JSON export: every
 * branch, status, statistic and setting, with the images' bytes. Another
 * user's id is *not found*.
 */
export async function exportArchive({ userId, id }: { userId: string; id?: string }): Promise<Archive> {
  const { conversations, attachments } = await getConversationTreesOrThrow({ userId, id });
  const byId = new Map(attachments.map((a) => [a.id, a]));
  const images = await Promise.all(attachments.map(readImage));
  return {
    format: ARCHIVE_FORMAT,
    version: ARCHIVE_VERSION,
    exportedAt: new Date().toISOString(),
    conversations: conversations.map((c) => toArchiveConversation(c, byId)),
    images,
  };
}

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
        const attachment = attachments.get(p.attachmentId);
        return attachment ? [{ type: "image", sha256: attachment.sha256 }] : [];
      }),
      createdAt: m.createdAt.toISOString(),
    })),
  };
}

async function readImage(a: AttachmentRecord): Promise<ArchiveImage> {
  const bytes = await fs.readFile(blobPath(a.storageKey));
  return { sha256: a.sha256, mediaType: a.mediaType as ArchiveImage["mediaType"], width: a.width, height: a.height, data: bytes.toString("base64") };
}
