import "server-only";
import fs from "node:fs/promises";
import { zipSync, strToU8, type Zippable } from "fflate";
import { getConversationTreesOrThrow } from "@/lib/db/conversation-archive";
import { blobPath } from "@/lib/storage/blob-store";
import { activePath } from "@/lib/chat/tree";
import { ARCHIVE_MEDIA_TYPES, MEDIA_FILE_EXT } from "./archive-schema";
import { toArchiveConversation } from "./export-archive";
import { fileName } from "./file-name";
import { renderMarkdown } from "./render-markdown";

/**
 * The active branch of one conversation (`id`) or of all of the user's as
 * Markdown in a zip: `<title>.md` with `images/<sha256>.<ext>` beside it; for
 * all, one folder per conversation. Another user's id is *not found*.
 */
export async function exportMarkdownZip({ userId, id }: { userId: string; id?: string }): Promise<{ zip: Uint8Array<ArrayBuffer>; name: string }> {
  const { conversations, attachments } = await getConversationTreesOrThrow({ userId, id });
  const byId = new Map(attachments.map((a) => [a.id, a]));
  const bySha = new Map(attachments.map((a) => [a.sha256, a]));
  const ext = (sha256: string) => {
    const type = bySha.get(sha256)?.mediaType ?? "";
    // A video, audio file, PDF or table is put beside the text as it was uploaded, under its own extension.
    if ((ARCHIVE_MEDIA_TYPES as readonly string[]).includes(type)) return MEDIA_FILE_EXT[type as (typeof ARCHIVE_MEDIA_TYPES)[number]];
    return type === "image/jpeg" ? "jpg" : "png";
  };
  const files: Zippable = {};
  const taken = new Set<string>();
  for (const tree of conversations) {
    const conversation = toArchiveConversation(tree, byId);
    const base = unique(fileName(conversation.title), taken);
    const folder = id ? "" : `${base}/`;
    files[`${folder}${base}.md`] = strToU8(renderMarkdown(conversation, { imagePath: (sha) => `images/${sha}.${ext(sha)}` }));
    const shown = activePath(conversation.messages, conversation.activeLeafId);
    for (const sha of new Set(shown.flatMap((m) => m.parts.flatMap((p) => (p.type === "image" ? [p.sha256] : []))))) {
      const attachment = bySha.get(sha)!;
      // Images are already compressed: store them, deflate only the text.
      files[`${folder}images/${sha}.${ext(sha)}`] = [new Uint8Array(await fs.readFile(blobPath(attachment.storageKey))), { level: 0 }];
    }
  }
  const name = id ? `${fileName(conversations[0]!.title)}.zip` : `conversations-${new Date().toISOString().slice(0, 10)}.zip`;
  // fflate allocates a plain ArrayBuffer.
  return { zip: zipSync(files, { level: 6 }) as Uint8Array<ArrayBuffer>, name };
}

/** `name`, or `name-2`, `name-3`… if taken; records the result as taken. */
function unique(name: string, taken: Set<string>): string {
  let candidate = name;
  for (let n = 2; taken.has(candidate); n++) candidate = `${name}-${n}`;
  taken.add(candidate);
  return candidate;
}
