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

/** A call an earlier assistant turn made (OpenAI's shape: arguments as a JSON string). */
const toolCall = z.object({
  id: z.string().min(1).max(200),
  type: z.literal("function").optional(),
  function: z.object({ name: z.string().min(1).max(64), arguments: z.string().max(100_000) }),
});

const message = z.discriminatedUnion("role", [
  z.object({ role: z.literal("system"), content }),
  z.object({ role: z.literal("developer"), content }),
  z.object({ role: z.literal("user"), content }),
  z.object({ role: z.literal("assistant"), content: content.nullish(), tool_calls: z.array(toolCall).max(16).nullish() }),
  /** A function's result; its parts may carry images, which the model sees. */
  z.object({ role: z.literal("tool"), tool_call_id: z.string().min(1).max(200), content }),
]);

const functionName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, "a function name is 1–64 letters, digits, _ or -");
const tool = z.object({
  type: z.literal("function"),
  function: z.object({
    name: functionName,
    description: z.string().max(10_000).optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullish(),
  }),
});

const responseFormat = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }),
  z.object({ type: z.literal("json_object") }),
  z.object({
    type: z.literal("json_schema"),
    json_schema: z.object({
      name: z.string().max(64).optional(),
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullish(),
    }),
  }),
]);

/** Answers one request may ask for (`n`), each on its own slot. */
export const MAX_CHOICES = 4;

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
  n: z.number().int().min(1).max(MAX_CHOICES, `n must be at most ${MAX_CHOICES}: each answer takes a slot of the local model`).nullish(),
  tools: z.array(tool).max(64).nullish(),
  tool_choice: z
    .union([z.enum(["none", "auto", "required"]), z.object({ type: z.literal("function"), function: z.object({ name: z.string() }) })])
    .nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  functions: z.unknown().optional(),
  function_call: z.unknown().optional(),
  response_format: responseFormat.nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  /**
   * Extension: LoRA adapters of the served model to answer with (GET
   * /v1/models lists them), each with a scale (default 1). Absent: the
   * ADAPTERS_AUTO choice by attachment kind, if configured; `[]`: none.
   */
  adapters: z
    .array(z.object({ name: z.string().min(1).max(200), scale: z.number().min(-4).max(4).optional() }))
    .max(8)
    .nullish(),
});
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;
export type ChatCompletionMessage = ChatCompletionRequest["messages"][number];

/** The first parameter we cannot honour, with why — or null. */
export function unsupportedParameter(req: ChatCompletionRequest): { param: string; message: string } | null {
  if (req.functions != null || req.function_call != null) return { param: "functions", message: "functions and function_call are deprecated; send tools and tool_choice." };
  if (req.top_logprobs != null && !req.logprobs) return { param: "top_logprobs", message: "top_logprobs needs logprobs: true." };
  const choice = req.tool_choice;
  if (choice != null && choice !== "none" && !req.tools?.length) return { param: "tool_choice", message: "tool_choice needs tools." };
  if (choice && typeof choice === "object" && !req.tools?.some((t) => t.function.name === choice.function.name)) {
    return { param: "tool_choice", message: `tool_choice names the function '${choice.function.name}', which is not among the tools.` };
  }
  const names = req.tools?.map((t) => t.function.name) ?? [];
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) return { param: "tools", message: `Two tools are named '${twice}'.` };
  if (req.tools?.length && choice !== "none" && req.response_format && req.response_format.type !== "text") {
    return { param: "response_format", message: "response_format cannot be combined with tools (the answer is either a call or a response in the tools' format); send tool_choice: \"none\" to use it." };
  }
  return null;
}
