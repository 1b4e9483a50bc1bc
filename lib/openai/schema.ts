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
/** OpenAI's audio part: base64 bytes (not a data: URI) and their format. */
const audioPart = z.object({
  type: z.literal("input_audio"),
  input_audio: z.object({ data: z.string().min(1), format: z.string().regex(/^[a-z0-9]{2,5}$/, "format must be a file extension such as wav or mp3") }),
});
/** OpenAI's file part: a PDF, table… as a base64 data: URI (uploaded file ids are not kept by this server). */
const filePart = z.object({
  type: z.literal("file"),
  file: z.object({ file_data: z.string().min(1).optional(), filename: z.string().max(500).optional(), file_id: z.string().optional() }),
});
/** Video: llama-server's `input_video` ({ data, format } or { url }) and vLLM's `video_url` ({ url }); data: URIs only. */
const videoPart = z.object({
  type: z.literal("input_video"),
  input_video: z.object({ data: z.string().min(1).optional(), format: z.string().regex(/^[a-z0-9]{2,5}$/).optional(), url: z.string().min(1).optional() }),
});
const videoUrlPart = z.object({ type: z.literal("video_url"), video_url: z.object({ url: z.string().min(1) }) });
export type MediaContentPart = z.infer<typeof audioPart> | z.infer<typeof filePart> | z.infer<typeof videoPart> | z.infer<typeof videoUrlPart>;

/** A non-text part as what the upload route would get: a data: URI (or an upload URL) and a file name that names its kind. */
export function mediaPartSource(p: MediaContentPart): { url: string; fileName: string | null; param: string } {
  switch (p.type) {
    case "input_audio":
      return { url: `data:audio/${p.input_audio.format};base64,${p.input_audio.data}`, fileName: `audio.${p.input_audio.format}`, param: "input_audio.data" };
    case "file":
      return { url: p.file.file_data ?? "", fileName: p.file.filename ?? null, param: "file.file_data" };
    case "input_video":
      return p.input_video.data
        ? { url: `data:video/${p.input_video.format ?? "mp4"};base64,${p.input_video.data}`, fileName: p.input_video.format ? `video.${p.input_video.format}` : null, param: "input_video.data" }
        : { url: p.input_video.url ?? "", fileName: null, param: "input_video.url" };
    case "video_url":
      return { url: p.video_url.url, fileName: null, param: "video_url.url" };
  }
}

const content = z.union([
  z.string().max(200_000),
  z.array(z.discriminatedUnion("type", [textPart, imagePart, audioPart, filePart, videoPart, videoUrlPart])).max(64),
]);

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
