import "server-only";
import { getAttachmentOrThrow } from "@/lib/db/attachments";
import { getImageEmbedding } from "@/lib/db/image-index";
import { AppError } from "@/lib/errors";
import { getClipModel } from "./clip-model";
import { bytesToVector } from "./vector-search";
import { zeroShotProbabilities } from "./zero-shot";

/**
 * CLIP zero-shot labels for one of the user's images (another user's id is
 * *not found*): probabilities over the given labels, highest first, rounded
 * to 4 decimals.
 */
export async function classifyImage({ id, userId, labels }: { id: string; userId: string; labels: string[] }): Promise<{ label: string; probability: number }[]> {
  await getAttachmentOrThrow({ id, userId });
  const stored = await getImageEmbedding({ id, userId });
  if (!stored) throw new AppError("conflict:image_index", "This image is not indexed yet; try again in a moment.");
  const probabilities = await zeroShotProbabilities({ clip: await getClipModel(), image: bytesToVector(stored), labels });
  return labels.map((label, i) => ({ label, probability: Math.round(probabilities[i]! * 10_000) / 10_000 })).sort((a, b) => b.probability - a.probability);
}
