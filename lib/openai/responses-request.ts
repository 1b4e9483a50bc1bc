import { OpenAiError } from "./errors";
import type { ResponsesContentPart, ResponsesRequest } from "./responses-schema";
import { responsesFunctionToolSchema } from "./responses-schema";

/** One chat-completion message, before the chat schema checks it. */
type ChatMessage = { role: string; content: unknown; tool_calls?: unknown[]; tool_call_id?: string };

/**
 * A Responses request as the chat-completion request that answers it
 * (streamed, with usage), and `paramFor`, which names the Responses field
 * behind a chat-completion parameter, for errors.
 */
export function responsesToChatRequest(req: ResponsesRequest): { chat: Record<string, unknown>; paramFor: (chatParam: string) => string } {
  if (req.previous_response_id) throw refuse("previous_response_id", "previous_response_id is not supported: this server keeps no responses. Send the whole conversation in input.");
  if (req.conversation != null) throw refuse("conversation", "conversation is not supported: this server keeps no conversations. Send the whole conversation in input.");
  if (req.background) throw refuse("background", "background responses are not supported: answers are written while the client waits (stream them instead).");

  const messages: ChatMessage[] = [];
  /** The Responses field each chat message came from. */
  const origins: string[] = [];
  const add = (m: ChatMessage, origin: string) => {
    messages.push(m);
    origins.push(origin);
  };
  if (req.instructions) add({ role: "system", content: req.instructions }, "instructions");
  if (typeof req.input === "string") add({ role: "user", content: req.input }, "input");
  else {
    for (const [i, item] of req.input.entries()) {
      const at = `input.${i}`;
      if (item.type === "reasoning") continue;
      if (item.type === "function_call") {
        const call = { id: item.call_id, type: "function", function: { name: item.name, arguments: item.arguments } };
        // Calls made in one turn are one assistant message (after any text of that turn).
        const last = messages.at(-1);
        if (last?.role === "assistant") (last.tool_calls ??= []).push(call);
        else add({ role: "assistant", content: null, tool_calls: [call] }, at);
      } else if (item.type === "function_call_output") {
        add({ role: "tool", tool_call_id: item.call_id, content: typeof item.output === "string" ? item.output : chatParts(item.output, `${at}.output`) }, `${at}.output`);
      } else if (item.role === "assistant") {
        // History: the assistant's earlier text (a chat assistant message holds text only).
        const text = typeof item.content === "string" ? item.content : item.content.map((p) => (p.type === "output_text" || p.type === "input_text" ? p.text : p.type === "refusal" ? p.refusal : "")).join("");
        add({ role: "assistant", content: text }, at);
      } else add({ role: item.role, content: typeof item.content === "string" ? item.content : chatParts(item.content, `${at}.content`) }, at);
    }
  }

  const tools = req.tools?.map((t, i) => {
    if (t.type !== "function") throw refuse(`tools.${i}.type`, `${t.type} tools are not available here: this server runs function tools only (the client runs them).`);
    const parsed = responsesFunctionToolSchema.safeParse(t);
    if (!parsed.success) throw refuse(`tools.${i}`, `tools.${i}: ${parsed.error.issues[0]?.path.join(".")} ${parsed.error.issues[0]?.message}`);
    const { name, description, parameters, strict } = parsed.data;
    return { type: "function", function: { name, description: description ?? undefined, parameters: parameters ?? undefined, strict: strict ?? undefined } };
  });
  const format = req.text?.format;
  const chat: Record<string, unknown> = {
    model: req.model,
    messages,
    stream: true,
    stream_options: { include_usage: true },
    max_completion_tokens: req.max_output_tokens ?? undefined,
    temperature: req.temperature ?? undefined,
    top_p: req.top_p ?? undefined,
    store: req.store ?? false,
    user: req.user ?? undefined,
    tools,
    tool_choice: req.tool_choice == null ? undefined : typeof req.tool_choice === "string" ? req.tool_choice : { type: "function", function: { name: req.tool_choice.name } },
    parallel_tool_calls: req.parallel_tool_calls ?? undefined,
    response_format:
      !format || format.type === "text"
        ? undefined
        : format.type === "json_object"
          ? { type: "json_object" }
          : { type: "json_schema", json_schema: { name: format.name, schema: format.schema, description: format.description ?? undefined, strict: format.strict ?? undefined } },
  };
  return { chat, paramFor: (p) => paramFor(p, origins) };
}

const refuse = (param: string, message: string) => new OpenAiError(400, message, param, "unsupported_parameter");

/** Responses content parts → chat-completion parts, one for one (so part indexes match in errors). */
function chatParts(parts: ResponsesContentPart[], at: string): unknown[] {
  return parts.map((p, j) => {
    switch (p.type) {
      case "input_text":
      case "output_text":
        return { type: "text", text: p.text };
      case "refusal":
        return { type: "text", text: p.refusal };
      case "input_image":
        if (!p.image_url) throw refuse(`${at}.${j}.file_id`, "Uploaded file ids are not kept by this server: send image_url as a base64 data: URI or the URL of your upload (/api/uploads/ID).");
        return { type: "image_url", image_url: { url: p.image_url, detail: p.detail === "original" || !p.detail ? undefined : p.detail } };
      case "input_file":
        if (!p.file_data) {
          throw refuse(`${at}.${j}`, "Send files as file_data (a base64 data: URI): file ids are not kept here and file URLs are never fetched.");
        }
        return { type: "file", file: { file_data: p.file_data, filename: p.filename ?? undefined } };
      case "input_audio":
        return { type: "input_audio", input_audio: p.input_audio };
    }
  });
}

const renamed: Record<string, string> = {
  response_format: "text.format",
  max_completion_tokens: "max_output_tokens",
  max_tokens: "max_output_tokens",
  messages: "input",
};

function paramFor(chatParam: string, origins: string[]): string {
  if (renamed[chatParam]) return renamed[chatParam];
  // response_format.json_schema.schema → text.format.schema; tools.0.function.name → tools.0.name.
  if (chatParam.startsWith("response_format.")) return `text.format${chatParam.slice("response_format".length).replace(/^\.json_schema/, "")}`;
  const nested = /^(tools\.\d+|tool_choice)\.function(.*)$/.exec(chatParam);
  if (nested) return `${nested[1]}${nested[2]}`;
  const m = /^messages\.(\d+)(?:\.content)?(?:\.(\d+))?/.exec(chatParam);
  if (!m) return chatParam;
  const origin = origins[Number(m[1])] ?? "input";
  if (m[2] === undefined || origin === "input" || origin === "instructions") return origin.replace(/\.output$/, "");
  // A message's parts are under its content, a function_call_output's under its output.
  return origin.endsWith(".output") ? `${origin}.${m[2]}` : `${origin}.content.${m[2]}`;
}
