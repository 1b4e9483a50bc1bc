import { z } from "zod";

/**
 * `POST /v1/responses`, as much of OpenAI's Responses API as a stateless
 * local server can honour. Unknown fields are ignored (clients send many);
 * fields that need state or hosted tools are refused by the request's
 * translation (see `responses-request.ts`).
 */
const inputText = z.object({ type: z.literal("input_text"), text: z.string().max(100_000) });
/** An earlier answer's text, sent back as history. */
const outputText = z.object({ type: z.literal("output_text"), text: z.string().max(100_000) });
const refusal = z.object({ type: z.literal("refusal"), refusal: z.string().max(100_000) });
const inputImage = z.object({
  type: z.literal("input_image"),
  /** A base64 data: URI or the URL of one of the key owner's uploads (/api/uploads/ID). */
  image_url: z.string().min(1).nullish(),
  file_id: z.string().nullish(),
  detail: z.enum(["auto", "low", "high", "original"]).nullish(),
});
const inputFile = z.object({
  type: z.literal("input_file"),
  file_data: z.string().min(1).nullish(),
  filename: z.string().max(500).nullish(),
  file_id: z.string().nullish(),
  file_url: z.string().nullish(),
});
const inputAudio = z.object({
  type: z.literal("input_audio"),
  input_audio: z.object({ data: z.string().min(1), format: z.string().regex(/^[a-z0-9]{2,5}$/, "format must be a file extension such as wav or mp3") }),
});
const part = z.discriminatedUnion("type", [inputText, outputText, refusal, inputImage, inputFile, inputAudio]);
export type ResponsesContentPart = z.infer<typeof part>;

const messageItem = z.object({
  type: z.literal("message").optional(),
  role: z.enum(["user", "assistant", "system", "developer"]),
  content: z.union([z.string().max(200_000), z.array(part).max(64)]),
});
const functionCallItem = z.object({
  type: z.literal("function_call"),
  call_id: z.string().min(1).max(200),
  name: z.string().min(1).max(200),
  arguments: z.string().max(200_000),
});
const functionCallOutputItem = z.object({
  type: z.literal("function_call_output"),
  call_id: z.string().min(1).max(200),
  output: z.union([z.string().max(200_000), z.array(part).max(64)]),
});
/** Items a client may echo back that carry nothing for this model (its reasoning). */
const reasoningItem = z.object({ type: z.literal("reasoning") }).passthrough();
const item = z.union([messageItem, functionCallItem, functionCallOutputItem, reasoningItem]);
export type ResponsesInputItem = z.infer<typeof item>;

const functionTool = z.object({
  type: z.literal("function"),
  name: z.string().min(1).max(64),
  description: z.string().max(10_000).nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});
export type ResponsesFunctionTool = z.infer<typeof functionTool>;

const textFormat = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }),
  z.object({ type: z.literal("json_object") }),
  z.object({
    type: z.literal("json_schema"),
    name: z.string().min(1).max(64),
    schema: z.record(z.string(), z.unknown()),
    description: z.string().max(10_000).nullish(),
    strict: z.boolean().nullish(),
  }),
]);

export const responsesRequestSchema = z.object({
  model: z.string().min(1).max(200),
  input: z.union([z.string().max(200_000), z.array(item).min(1, "input must not be empty").max(500)]),
  instructions: z.string().max(200_000).nullish(),
  max_output_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  stream: z.boolean().nullish(),
  /** Keep the exchange in the key owner's history, as chat completions' `store` does. Default false (stateless). */
  store: z.boolean().nullish(),
  text: z.object({ format: textFormat.optional() }).nullish(),
  /** Function tools; hosted tools (web search, file search…) are refused with their type named. */
  tools: z.array(z.object({ type: z.string() }).passthrough()).max(128).nullish(),
  tool_choice: z.union([z.enum(["auto", "none", "required"]), z.object({ type: z.literal("function"), name: z.string().min(1) })]).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  user: z.string().max(256).nullish(),
  // Refused: this server keeps no responses or conversations, and answers while the client waits.
  previous_response_id: z.string().nullish(),
  conversation: z.unknown().optional(),
  background: z.boolean().nullish(),
});
export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;

export const responsesFunctionToolSchema = functionTool;
