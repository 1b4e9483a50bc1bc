import { randomBytes } from "node:crypto";
import type { CompletionEvent, CompletionUsage } from "./completion-events";
import type { ResponsesRequest } from "./responses-schema";

const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString("hex")}`;

export type ResponsesEvent = { type: string; sequence_number: number } & Record<string, unknown>;

interface MessageItem {
  id: string;
  type: "message";
  status: "in_progress" | "completed" | "incomplete";
  role: "assistant";
  content: { type: "output_text"; text: string; annotations: never[]; logprobs: never[] }[];
}
interface FunctionCallItem {
  id: string;
  type: "function_call";
  status: "in_progress" | "completed" | "incomplete";
  call_id: string;
  name: string;
  arguments: string;
}

/**
 * Turns one chat completion's events into the Responses API's: the response's
 * life (created, in progress, completed / incomplete / failed), a message
 * item for the text and a function_call item per tool call, each opened when
 * its first piece arrives and closed at the end, every event numbered.
 */
export class ResponseAssembler {
  private seq = 0;
  private readonly id = newId("resp");
  private readonly createdAt = Math.floor(Date.now() / 1000);
  private readonly output: (MessageItem | FunctionCallItem)[] = [];
  private message?: MessageItem;
  private readonly calls = new Map<number, FunctionCallItem>();
  private finish: string | null = null;
  private usage: CompletionUsage | null = null;
  private error: { code: "server_error"; message: string } | null = null;
  private status: "in_progress" | "completed" | "incomplete" | "failed" = "in_progress";

  constructor(
    private readonly req: ResponsesRequest,
    private readonly model: string,
  ) {}

  private event(type: string, fields: Record<string, unknown>): ResponsesEvent {
    return { type, sequence_number: this.seq++, ...fields };
  }

  /** The response as it stands (the final one once `end` ran). */
  snapshot() {
    const u = this.usage;
    return {
      id: this.id,
      object: "response" as const,
      created_at: this.createdAt,
      status: this.status,
      completed_at: this.status === "completed" ? Math.floor(Date.now() / 1000) : null,
      background: false,
      error: this.error,
      incomplete_details: this.status === "incomplete" ? { reason: "max_output_tokens" as const } : null,
      instructions: this.req.instructions ?? null,
      max_output_tokens: this.req.max_output_tokens ?? null,
      metadata: this.req.metadata ?? {},
      model: this.model,
      output: this.output,
      parallel_tool_calls: this.req.parallel_tool_calls ?? true,
      previous_response_id: null,
      reasoning: { effort: null, summary: null },
      store: this.req.store ?? false,
      temperature: this.req.temperature ?? 1,
      text: { format: this.req.text?.format ?? { type: "text" } },
      tool_choice: this.req.tool_choice ?? "auto",
      tools: this.req.tools ?? [],
      top_p: this.req.top_p ?? 1,
      truncation: "disabled",
      usage: u && {
        input_tokens: u.prompt_tokens,
        input_tokens_details: { cached_tokens: u.prompt_tokens_details?.cached_tokens ?? 0 },
        output_tokens: u.completion_tokens,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: u.total_tokens,
      },
      user: this.req.user ?? null,
    };
  }

  start(): ResponsesEvent[] {
    return [this.event("response.created", { response: this.snapshot() }), this.event("response.in_progress", { response: this.snapshot() })];
  }

  push(ev: CompletionEvent): ResponsesEvent[] {
    const out: ResponsesEvent[] = [];
    switch (ev.type) {
      case "text": {
        const item = this.message ?? this.openMessage(out);
        item.content[0]!.text += ev.text;
        out.push(this.event("response.output_text.delta", { item_id: item.id, output_index: this.output.indexOf(item), content_index: 0, delta: ev.text, logprobs: [] }));
        break;
      }
      case "tool_call": {
        let call = this.calls.get(ev.index);
        if (!call) {
          call = { id: newId("fc"), type: "function_call", status: "in_progress", call_id: ev.id ?? newId("call"), name: ev.name ?? "", arguments: "" };
          this.calls.set(ev.index, call);
          this.output.push(call);
          out.push(this.event("response.output_item.added", { output_index: this.output.length - 1, item: { ...call } }));
        }
        if (ev.arguments) {
          call.arguments += ev.arguments;
          out.push(this.event("response.function_call_arguments.delta", { item_id: call.id, output_index: this.output.indexOf(call), delta: ev.arguments }));
        }
        break;
      }
      case "finish":
        this.finish = ev.reason;
        break;
      case "usage":
        this.usage = ev.usage;
        break;
      case "error":
        this.error = { code: "server_error", message: ev.message };
        break;
    }
    return out;
  }

  private openMessage(out: ResponsesEvent[]): MessageItem {
    const item: MessageItem = { id: newId("msg"), type: "message", status: "in_progress", role: "assistant", content: [] };
    this.message = item;
    this.output.push(item);
    const output_index = this.output.length - 1;
    out.push(this.event("response.output_item.added", { output_index, item: { ...item, content: [] } }));
    item.content.push({ type: "output_text", text: "", annotations: [], logprobs: [] });
    out.push(this.event("response.content_part.added", { item_id: item.id, output_index, content_index: 0, part: { ...item.content[0] } }));
    return item;
  }

  /** Closes every open item and the response itself. */
  end(): ResponsesEvent[] {
    const out: ResponsesEvent[] = [];
    this.status = this.error ? "failed" : this.finish === "length" ? "incomplete" : "completed";
    const itemStatus = this.status === "completed" ? "completed" : "incomplete";
    // An answer with neither text nor calls is still one (empty) message, as OpenAI's are.
    if (!this.error && !this.output.length) this.openMessage(out);
    for (const [output_index, item] of this.output.entries()) {
      item.status = itemStatus;
      if (item.type === "message") {
        const part = item.content[0]!;
        out.push(this.event("response.output_text.done", { item_id: item.id, output_index, content_index: 0, text: part.text, logprobs: [] }));
        out.push(this.event("response.content_part.done", { item_id: item.id, output_index, content_index: 0, part }));
      } else {
        out.push(this.event("response.function_call_arguments.done", { item_id: item.id, output_index, name: item.name, arguments: item.arguments }));
      }
      out.push(this.event("response.output_item.done", { output_index, item }));
    }
    out.push(this.event(`response.${this.status}`, { response: this.snapshot() }));
    return out;
  }
}
