import "server-only";
import { getAttachmentOrThrow } from "@/lib/db/attachments";
import { getImageEmbedding } from "@/lib/db/image-index";
import { AppError } from "@/lib/errors";
import { getClipModel } from "./clip-model";
import { toClipPrompt } from "./hybrid-rank";
import { bytesToVector, cosineScores } from "./vector-search";

/**
 * CLIP zero-shot classification of one of the user's images: each label is
 * embedded as a short caption ("circle" → "A circle."), and the
 * probabilities are the softmax of the model's logit scale × cosine over the
 * labels (they sum to 1). Sorted by probability, highest first.
 */
export async function classifyImage({ id, userId, labels }: { id: string; userId: string; labels: string[] }): Promise<{ label: string; probability: number }[]> {
  await getAttachmentOrThrow({ id, userId });
  const stored = await getImageEmbedding({ id, userId });
  if (!stored) throw new AppError("conflict:image_index", "This image is not indexed yet; try again in a moment.");
  const clip = await getClipModel();
  const image = bytesToVector(stored);
  const texts = await clip.embedTexts(labels.map(toClipPrompt));
  const logits = texts.map((t) => clip.logitScale * cosineScores(t, t.length, image)[0]!);
  const max = Math.max(...logits);
  const exp = logits.map((l) => Math.exp(l - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  return labels.map((label, i) => ({ label, probability: Math.round((exp[i]! / sum) * 10_000) / 10_000 })).sort((a, b) => b.probability - a.probability);
}
