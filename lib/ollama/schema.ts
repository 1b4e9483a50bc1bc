import { z } from "zod";

/**
 * Ollama's API (https://github.com/ollama/ollama/blob/main/docs/api.md), as
 * much as this server honours. Unknown fields and options are ignored, as
 * Ollama ignores what a model does not use.
 */

/** A base64 image (what the ollama clients send), or a data: URI. */
const image = z.string().min(1).max(30_000_000);

/** Sampling options; the rest of Ollama's (top_k, repeat_penalty, num_gpu…) are ignored. */
const options = z.object({
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  seed: z.number().int().nullish(),
  /** Tokens to write at most; -1 and -2 (no limit, fill the context) mean the server's own limit. */
  num_predict: z.number().int().nullish(),
  /** A cap: the model's context is fixed when it loads, so a smaller num_ctx only bounds the answer. */
  num_ctx: z.number().int().min(1).nullish(),
  stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]).nullish(),
});

/** "json", or a JSON schema the answer must follow. */
const format = z.union([z.literal("json"), z.literal(""), z.record(z.string(), z.unknown())]).nullish();

const tool = z.object({
  type: z.literal("function"),
  function: z.object({ name: z.string().min(1).max(64), description: z.string().max(10_000).nullish(), parameters: z.record(z.string(), z.unknown()).nullish() }),
});

const message = z.object({
  role: z.enum(["system", "user", "assistant", "tool"]),
  content: z.string().max(200_000).default(""),
  images: z.array(image).max(16).nullish(),
  tool_calls: z.array(z.object({ function: z.object({ name: z.string().min(1), arguments: z.union([z.record(z.string(), z.unknown()), z.string()]) }) })).max(32).nullish(),
  tool_name: z.string().nullish(),
});
export type OllamaMessage = z.infer<typeof message>;

const common = {
  model: z.string().min(1).max(200),
  /** Ollama streams unless told not to. */
  stream: z.boolean().default(true),
  format,
  options: options.nullish(),
  keep_alive: z.unknown().optional(),
};

export const ollamaChatRequestSchema = z.object({
  ...common,
  messages: z.array(message).max(500).default([]),
  tools: z.array(tool).max(128).nullish(),
});
export type OllamaChatRequest = z.infer<typeof ollamaChatRequestSchema>;

export const ollamaGenerateRequestSchema = z.object({
  ...common,
  prompt: z.string().max(200_000).default(""),
  system: z.string().max(200_000).nullish(),
  images: z.array(image).max(16).nullish(),
  // Refused when used: no fill-in-the-middle, and no token context (send the conversation to /api/chat).
  suffix: z.string().nullish(),
  context: z.array(z.number()).nullish(),
});
export type OllamaGenerateRequest = z.infer<typeof ollamaGenerateRequestSchema>;

/** `/api/show`: newer clients send `model`, older ones `name`. */
export const ollamaShowRequestSchema = z
  .object({ model: z.string().min(1).max(200).optional(), name: z.string().min(1).max(200).optional() })
  .refine((r) => r.model ?? r.name, { message: "model is required", path: ["model"] })
  .transform((r) => ({ model: (r.model ?? r.name)! }));

export const ollamaEmbedRequestSchema = z.object({
  model: z.string().min(1).max(200),
  input: z.union([z.string().min(1, "input must not be empty").max(30_000_000), z.array(z.string().min(1).max(30_000_000)).min(1, "input must not be empty").max(64)]),
  keep_alive: z.unknown().optional(),
  truncate: z.boolean().nullish(),
});
export type OllamaEmbedRequest = z.infer<typeof ollamaEmbedRequestSchema>;

/** The older `/api/embeddings`: one text as `prompt`. */
export const ollamaEmbeddingsRequestSchema = z.object({
  model: z.string().min(1).max(200),
  prompt: z.string().min(1, "prompt must not be empty").max(30_000_000),
  keep_alive: z.unknown().optional(),
});
