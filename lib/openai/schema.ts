import { z } from "zod";

/**
 * `POST /v1/chat/completions`, as much of OpenAI's request as the local
 * engine can honour. Unknown fields are ignored (clients send many); fields
 * we cannot honour are refused by `unsupportedParameter`.
 */
const textPart = z.object({ type: z.literal("text"), text: z.string().max(100_000) });
const imagePart = z.object({
  type: z.literal("image_url"),
  image_url: z.object({ url: z.string().min(1), detail: z.enum(["auto", "low", "high"]).optional() }),
});
const content = z.union([z.string().max(200_000), z.array(z.discriminatedUnion("type", [textPart, imagePart])).max(64)]);

const message = z.discriminatedUnion("role", [
  z.object({ role: z.literal("system"), content }),
  z.object({ role: z.literal("developer"), content }),
  z.object({ role: z.literal("user"), content }),
  z.object({ role: z.literal("assistant"), content: content.nullish() }),
]);

export const chatCompletionRequestSchema = z.object({
  model: z.string().min(1).max(200),
  messages: z.array(message).min(1, "messages must not be empty").max(500),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: z.number().int().min(1).nullish(),
  max_completion_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  seed: z.number().int().nullish(),
  stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]).nullish(),
  /** OpenAI's own flag: keep this exchange in the key owner's history. Default false. */
  store: z.boolean().nullish(),
  user: z.string().max(256).nullish(),
  n: z.number().int().nullish(),
  tools: z.unknown().optional(),
  tool_choice: z.unknown().optional(),
  functions: z.unknown().optional(),
  function_call: z.unknown().optional(),
  response_format: z.object({ type: z.string() }).passthrough().nullish(),
  logprobs: z.boolean().nullish(),
});
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;
export type ChatCompletionMessage = ChatCompletionRequest["messages"][number];

/** The first parameter we cannot honour, with why — or null. */
export function unsupportedParameter(req: ChatCompletionRequest): { param: string; message: string } | null {
  if (req.n != null && req.n !== 1) return { param: "n", message: "Only n=1 is supported: the local model writes one answer per request." };
  if (req.tools != null || req.tool_choice != null) return { param: "tools", message: "Tools (function calling) are not supported by this server." };
  if (req.functions != null || req.function_call != null) return { param: "functions", message: "Function calling is not supported by this server." };
  if (req.response_format && req.response_format.type !== "text") {
    return { param: "response_format", message: `response_format ${req.response_format.type} is not supported; only text.` };
  }
  if (req.logprobs) return { param: "logprobs", message: "logprobs are not supported by this server." };
  return null;
}
