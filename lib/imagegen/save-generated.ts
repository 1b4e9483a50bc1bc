import "server-only";
import type { AttachmentRecord, GeneratedFrom } from "@/lib/db/attachments";
import { saveImage } from "@/lib/storage/save-upload";

/**
 * Stores a generated PNG as the user's image exactly as an upload is stored
 * (checked and normalised by the upload path's rules, content-addressed, one
 * attachment per user and picture), marked with the prompt, seed and
 * generator it came from. Its row's insert queues it for the image library's
 * indexer (CLIP embedding, caption), and its prompt becomes part of its
 * search text.
 */
export function saveGeneratedImage({ userId, png, generated }: { userId: string; png: Uint8Array; generated: GeneratedFrom }): Promise<AttachmentRecord> {
  return saveImage(userId, png, generated);
}
