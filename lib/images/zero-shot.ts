import type { ClipModel } from "./load-clip-model";
import { toClipPrompt } from "./hybrid-rank";
import { cosineScores } from "./vector-search";

/**
 * CLIP zero-shot classification of an image embedding: each label is
 * embedded as a short caption ("circle" → "A circle."), and the
 * probabilities are the softmax of the model's logit scale × cosine over the
 * labels (they sum to 1), in the labels' order.
 */
export async function zeroShotProbabilities({ clip, image, labels }: { clip: ClipModel; image: Float32Array; labels: string[] }): Promise<number[]> {
  const texts = await clip.embedTexts(labels.map(toClipPrompt));
  return softmaxOverLabels(clip.logitScale, texts, image);
}

/** The labels' probabilities for one image embedding, from the labels' text embeddings. */
export function softmaxOverLabels(logitScale: number, texts: Float32Array[], image: Float32Array): number[] {
  const logits = texts.map((t) => logitScale * cosineScores(t, t.length, image)[0]!);
  const max = Math.max(...logits);
  const exp = logits.map((l) => Math.exp(l - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  return exp.map((e) => e / sum);
}
