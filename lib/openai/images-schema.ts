import { z } from "zod";

/**
 * `POST /v1/images/generations` in OpenAI's shape, with `seed`, `steps` and
 * `store` as extensions. Only the shape is checked here; the caps (prompt
 * length, n, size, steps) are the image service's, so the chat and the API
 * refuse the same requests with the same words.
 */
export const imageGenerationRequestSchema = z.object({
  prompt: z.string().max(100_000),
  /** Optional; when given, the running generator's id (see /v1/models). */
  model: z.string().min(1).max(200).optional(),
  n: z.number().int().default(1),
  /** "WxH"; default the generator's first size. */
  size: z.string().max(20).optional(),
  /** Only b64_json: nothing is served by URL. */
  response_format: z.enum(["b64_json", "url"]).default("b64_json"),
  output_format: z.string().max(20).optional(),
  stream: z.boolean().optional(),
  /** OpenAI's knobs that have no meaning here, taken and ignored. */
  quality: z.string().max(50).optional(),
  style: z.string().max(50).optional(),
  user: z.string().max(200).optional(),
  /** Extension: the seed of the first image (image i uses seed + i). */
  seed: z.number().int().optional(),
  /** Extension: sampling steps (the local generator's; a remote server uses its own). */
  steps: z.number().int().optional(),
  /** Extension: keep the images in the key owner's library, marked as generated; their ids come back as `attachment_id`. */
  store: z.boolean().default(false),
});
export type ImageGenerationRequest = z.infer<typeof imageGenerationRequestSchema>;
