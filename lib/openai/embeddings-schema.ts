import { z } from "zod";

/** An image input: a data: URI string, or OpenAI's image_url part. */
const imageInput = z.object({ type: z.literal("image_url"), image_url: z.object({ url: z.string().min(1) }) });
const oneInput = z.union([z.string().min(1, "input must not be empty").max(30_000_000), imageInput]);

/**
 * `POST /v1/embeddings` in OpenAI's shape. A string input is text unless it
 * is a `data:` URI (then an image); the CLIP model embeds both into one
 * space. Token-id inputs and `dimensions` are not supported.
 */
export const embeddingsRequestSchema = z.object({
  model: z.string().min(1).max(200),
  input: z.union([oneInput, z.array(oneInput).min(1, "input must not be empty").max(64)]),
  encoding_format: z.enum(["float", "base64"]).default("float"),
  user: z.string().max(200).optional(),
});
export type EmbeddingsRequest = z.infer<typeof embeddingsRequestSchema>;
