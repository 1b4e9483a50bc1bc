import { randomBytes } from "node:crypto";

/**
 * Tools on every engine by grammar-constrained generation: the app renders
 * its own prompts (not llama.cpp's jinja templates, whose tool handlers
 * only llama-server `--jinja` would apply), so the functions are described
 * in the system prompt and the answer is constrained to one JSON schema:
 *
 *   required / a named function: `{"tool_calls": [{"name", "arguments"}…]}`
 *   auto: that, or `{"response": "…"}` (one `anyOf`, the shape of
 *         llama.cpp's generic tool format)
 *
 * `auto` is one schema rather than a lazy grammar with a trigger word so the
 * same constraint reaches all three engines (a remote server takes a JSON
 * schema as `response_format`, not a GBNF grammar with triggers), and a
 * small model that never learnt a trigger word still produces a parseable
 * choice.
 */
export interface FunctionTool {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
}

export type ToolMode = { kind: "auto" } | { kind: "required" } | { kind: "named"; name: string };

/** Calls in one answer when parallel calls are allowed. */
export const MAX_PARALLEL_CALLS = 4;

const argumentsSchema = (f: FunctionTool) => f.parameters ?? { type: "object" };

/** The JSON schema the answer is constrained to. */
export function toolAnswerSchema(tools: FunctionTool[], mode: ToolMode, parallel: boolean): Record<string, unknown> {
  const allowed = mode.kind === "named" ? tools.filter((t) => t.name === mode.name) : tools;
  const call = (f: FunctionTool) => ({
    type: "object",
    properties: { name: { const: f.name }, arguments: argumentsSchema(f) },
    required: ["name", "arguments"],
    additionalProperties: false,
  });
  const calls = {
    type: "object",
    properties: {
      tool_calls: {
        type: "array",
        items: allowed.length === 1 ? call(allowed[0]!) : { anyOf: allowed.map(call) },
        minItems: 1,
        maxItems: parallel && mode.kind !== "named" ? MAX_PARALLEL_CALLS : 1,
      },
    },
    required: ["tool_calls"],
    additionalProperties: false,
  };
  if (mode.kind !== "auto") return calls;
  return { anyOf: [calls, { type: "object", properties: { response: { type: "string" } }, required: ["response"], additionalProperties: false }] };
}

/** The system-prompt text that tells the model which functions exist and how to answer. */
export function toolsPrompt(tools: FunctionTool[], mode: ToolMode): string {
  const list = tools
    .map((t) => `- ${t.name}${t.description ? `: ${t.description}` : ""}\n  arguments (JSON schema): ${JSON.stringify(argumentsSchema(t))}`)
    .join("\n");
  const how =
    mode.kind === "auto"
      ? 'To call functions, answer {"tool_calls": [{"name": "…", "arguments": {…}}]}; to answer directly, answer {"response": "…"}.'
      : mode.kind === "named"
        ? `Call the function ${mode.name}: answer {"tool_calls": [{"name": "${mode.name}", "arguments": {…}}]}.`
        : 'Call one or more functions: answer {"tool_calls": [{"name": "…", "arguments": {…}}]}.';
  return `You can call these functions:\n${list}\n${how} Results come back in a later message.`;
}

/** A call as OpenAI returns it (arguments as a JSON string). */
export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export const newToolCallId = () => `call_${randomBytes(12).toString("base64url")}`;

/**
 * The model's constrained answer → tool calls or a direct response. Null
 * when the text is not a whole answer of that shape (cut off by max_tokens,
 * or a remote server that ignored the schema).
 */
export function parseToolAnswer(text: string): { calls: { name: string; arguments: unknown }[] } | { response: string } | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!value || typeof value !== "object") return null;
  const v = value as { tool_calls?: unknown; response?: unknown };
  if (typeof v.response === "string") return { response: v.response };
  if (!Array.isArray(v.tool_calls) || !v.tool_calls.length) return null;
  const calls: { name: string; arguments: unknown }[] = [];
  for (const c of v.tool_calls) {
    if (!c || typeof c !== "object" || typeof (c as { name?: unknown }).name !== "string") return null;
    calls.push({ name: (c as { name: string }).name, arguments: (c as { arguments?: unknown }).arguments ?? {} });
  }
  return { calls };
}

/**
 * The text of an `auto` answer's `{"response": "…"}` as it is written, so a
 * direct answer streams like free text while a call is still sent whole.
 * `push` takes the generated pieces and returns the answer text they
 * complete; `kind` tells what the answer turned out to be once it shows.
 */
export class ResponseText {
  kind: "undecided" | "response" | "calls" = "undecided";
  private buffer = "";
  /** Where the undecoded part of the response string starts in `buffer`. */
  private at = 0;
  private ended = false;

  push(piece: string): string {
    this.buffer += piece;
    if (this.kind === "undecided") {
      const open = /^\s*\{\s*"response"\s*:\s*"/.exec(this.buffer);
      if (open) {
        this.kind = "response";
        this.at = open[0].length;
      } else if (/^\s*\{\s*"tool_calls"/.test(this.buffer) || /^\s*\{\s*"(?!t|r)/.test(this.buffer) || /^\s*[^\s{]/.test(this.buffer)) {
        this.kind = "calls";
      }
    }
    if (this.kind !== "response" || this.ended) return "";
    let out = "";
    while (this.at < this.buffer.length) {
      const c = this.buffer[this.at]!;
      if (c === '"') {
        this.ended = true;
        break;
      }
      if (c !== "\\") {
        out += c;
        this.at++;
        continue;
      }
      // An escape: wait until it is whole.
      const next = this.buffer[this.at + 1];
      if (next === undefined) break;
      if (next === "u") {
        const hex = this.buffer.slice(this.at + 2, this.at + 6);
        if (hex.length < 4) break;
        out += String.fromCharCode(parseInt(hex, 16));
        this.at += 6;
        continue;
      }
      out += ({ n: "\n", t: "\t", r: "\r", b: "\b", f: "\f" } as Record<string, string>)[next] ?? next;
      this.at += 2;
    }
    return out;
  }
}
