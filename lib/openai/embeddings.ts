import "server-only";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { getClipModel } from "@/lib/images/clip-model";
import { normalizeImage } from "@/lib/storage/normalize-image";
import type { KeyUsage } from "./chat-completions";
import type { EmbeddingsRequest } from "./embeddings-schema";
import { OpenAiError } from "./errors";
import { decodeImageDataUri, isDataUri } from "./image-data-uri";

/**
 * OpenAI-shaped embeddings from the CLIP model: texts through the text
 * encoder, images (checked like uploads, never stored) through the vision
 * encoder, all L2-normalised into one space, so a text's and an image's
 * dot product is their cosine similarity.
 */
export async function createEmbeddings({
  req,
  onUsage,
}: {
  req: EmbeddingsRequest;
  /** Told once, when every input is embedded: what the request cost (prompt tokens and images), for per-key accounting. */
  onUsage?: (usage: KeyUsage) => void | Promise<void>;
}) {
  const clip = await getClipModel().catch((err: Error) => {
    throw new OpenAiError(503, `The embedding model is not available: ${err.message}`, null, "model_unavailable", 30);
  });
  // "clip" names whichever CLIP model this server runs.
  if (req.model !== clip.id && req.model !== "clip") {
    throw new OpenAiError(404, `The model '${req.model}' does not exist here. Embeddings come from '${clip.id}' (or say 'clip').`, "model", "model_not_found");
  }
  const inputs = Array.isArray(req.input) ? req.input : [req.input];
  const vectors: Float32Array[] = [];
  let tokens = 0;
  let texts = 0;
  for (const [i, input] of inputs.entries()) {
    const param = Array.isArray(req.input) ? `input.${i}` : "input";
    const url = typeof input === "string" ? (isDataUri(input) ? input : null) : input.image_url.url;
    if (url === null) {
      const [v] = await clip.embedTexts([input as string]);
      vectors.push(v!);
      tokens += (input as string).length;
      texts++;
      continue;
    }
    const bytes = decodeImageDataUri(url, param);
    const image = await normalizeImage(bytes, { maxBytes: env.UPLOAD_MAX_BYTES, maxPixels: env.UPLOAD_MAX_PIXELS, maxSide: env.UPLOAD_MAX_SIDE }).catch((err) => {
      if (err instanceof AppError && err.status < 500) throw new OpenAiError(err.status, err.message, param, "invalid_image");
      throw err;
    });
    vectors.push(await clip.embedImage(image.bytes));
  }
  await onUsage?.({ promptTokens: tokens, completionTokens: 0, images: inputs.length - texts });
  return {
    object: "list",
    data: vectors.map((v, index) => ({
      object: "embedding",
      index,
      embedding: req.encoding_format === "base64" ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64") : Array.from(v),
    })),
    model: clip.id,
    // The CLIP tokenizer's count is not exposed; characters are an upper bound for its character vocabulary.
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}
