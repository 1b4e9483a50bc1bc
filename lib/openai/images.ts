import "server-only";
import { AppError } from "@/lib/errors";
import { currentGenerator, generateForUser } from "@/lib/imagegen/service";
import type { KeyUsage } from "./chat-completions";
import { OpenAiError } from "./errors";
import type { ImageGenerationRequest } from "./images-schema";

/** The request field each of the image service's refusals is about. */
const paramByCode: Record<string, string> = {
  "bad_request:image_prompt": "prompt",
  "bad_request:image_n": "n",
  "bad_request:image_size": "size",
  "bad_request:image_steps": "steps",
  "bad_request:image_seed": "seed",
};

/**
 * OpenAI-shaped image generation for an API key's owner: the same service,
 * caps and per-user queue as the chat's "Create image". Answers
 * `{ created, data: [{ b64_json, seed?, attachment_id? }] }`.
 */
export async function createImageGeneration({
  userId,
  req,
  signal,
  onUsage,
}: {
  userId: string;
  req: ImageGenerationRequest;
  signal?: AbortSignal;
  /** Told once, when the images are made: how many (for per-key accounting). */
  onUsage?: (usage: KeyUsage) => void | Promise<void>;
}) {
  if (req.response_format === "url") {
    throw new OpenAiError(400, "response_format 'url' is not served here: ask for 'b64_json' (with store: true the images are also kept in your library).", "response_format", "unsupported_value");
  }
  if (req.output_format !== undefined && req.output_format !== "png") {
    throw new OpenAiError(400, `output_format '${req.output_format}' is not made here: images are PNG.`, "output_format", "unsupported_value");
  }
  if (req.stream) throw new OpenAiError(400, "Streaming image generation is not supported here: leave out stream.", "stream", "unsupported_value");
  const generator = await currentGenerator();
  if (generator && req.model !== undefined && req.model !== generator.info.id) {
    throw new OpenAiError(404, `The model '${req.model}' does not exist here. Images come from '${generator.info.id}' (or leave out model).`, "model", "model_not_found");
  }
  try {
    const { generator: info, images } = await generateForUser({
      userId,
      prompt: req.prompt,
      n: req.n,
      size: req.size ?? generator?.info.sizes[0] ?? "",
      steps: req.steps,
      seed: req.seed,
      store: req.store,
      signal,
    });
    await onUsage?.({ promptTokens: 0, completionTokens: 0, images: images.length });
    return {
      created: Math.floor(Date.now() / 1000),
      model: info.id,
      data: images.map((image) => ({
        b64_json: Buffer.from(image.png).toString("base64"),
        ...(image.seed !== undefined ? { seed: image.seed } : {}),
        ...(image.attachmentId ? { attachment_id: image.attachmentId } : {}),
      })),
    };
  } catch (err) {
    // The client left: nothing was stored, and it is not the server's fault.
    if (signal?.aborted) throw new OpenAiError(400, "The request was cancelled.", null, "cancelled");
    const param = err instanceof AppError ? paramByCode[err.code] : undefined;
    if (param) throw new OpenAiError(400, (err as AppError).message, param, "invalid_value");
    if (err instanceof AppError && err.code === "unavailable:image_generator") {
      throw new OpenAiError(503, err.message, null, "model_unavailable", err.extra.retryAfterSeconds);
    }
    throw err;
  }
}
