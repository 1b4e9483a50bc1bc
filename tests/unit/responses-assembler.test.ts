import { describe, expect, it } from "vitest";
import { ResponseAssembler } from "@/lib/openai/responses-assembler";
import { responsesToChatRequest } from "@/lib/openai/responses-request";
import { responsesRequestSchema } from "@/lib/openai/responses-schema";

// Chat-completion events → the Responses API's events, and Responses input
// → a chat-completion request: the translations behind /v1/responses.

const usage = { prompt_tokens: 40, completion_tokens: 3, total_tokens: 43, prompt_tokens_details: { cached_tokens: 12 } };
const req = responsesRequestSchema.parse({ model: "m", input: "Hi", tools: [{ type: "function", name: "get_color", parameters: { type: "object" } }] });

describe("ResponseAssembler", () => {
  it("opens a function_call item per call, streams its arguments and closes it", () => {
    const a = new ResponseAssembler(req, "m");
    const events = [
      ...a.start(),
      ...a.push({ type: "tool_call", index: 0, id: "call_1", name: "get_color", arguments: "" }),
      ...a.push({ type: "tool_call", index: 0, arguments: '{"shape":' }),
      ...a.push({ type: "tool_call", index: 0, arguments: '"circle"}' }),
      ...a.push({ type: "finish", reason: "tool_calls" }),
      ...a.push({ type: "usage", usage }),
      ...a.end(),
    ];
    expect(events.map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events[5]).toMatchObject({ output_index: 0, name: "get_color", arguments: '{"shape":"circle"}' });
    const response = a.snapshot();
    expect(response.output).toEqual([{ id: expect.stringMatching(/^fc_/), type: "function_call", status: "completed", call_id: "call_1", name: "get_color", arguments: '{"shape":"circle"}' }]);
    expect(response.usage).toEqual({ input_tokens: 40, input_tokens_details: { cached_tokens: 12 }, output_tokens: 3, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 43 });
  });

  it("ends a cut-off answer as incomplete and a failed one as failed", () => {
    const cut = new ResponseAssembler(req, "m");
    cut.start();
    cut.push({ type: "text", text: "The" });
    cut.push({ type: "finish", reason: "length" });
    expect(cut.end().at(-1)).toMatchObject({ type: "response.incomplete", response: { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } } });

    const failed = new ResponseAssembler(req, "m");
    failed.start();
    failed.push({ type: "error", message: "llama-server exited", code: "engine_error" });
    expect(failed.end()).toEqual([expect.objectContaining({ type: "response.failed", response: expect.objectContaining({ status: "failed", error: { code: "server_error", message: "llama-server exited" } }) })]);
  });
});

describe("responsesToChatRequest", () => {
  it("turns instructions, history, calls and their outputs into chat messages", () => {
    const { chat, paramFor } = responsesToChatRequest(
      responsesRequestSchema.parse({
        model: "m",
        instructions: "Be brief.",
        input: [
          { role: "user", content: [{ type: "input_text", text: "Colour?" }, { type: "input_image", image_url: "/api/uploads/abc" }] },
          { type: "function_call", call_id: "c1", name: "get_color", arguments: "{}" },
          { type: "function_call_output", call_id: "c1", output: "red" },
        ],
        text: { format: { type: "json_schema", name: "answer", schema: { type: "object" }, strict: true } },
        tool_choice: { type: "function", name: "get_color" },
        max_output_tokens: 7,
      }),
    );
    expect(chat).toMatchObject({
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: [{ type: "text", text: "Colour?" }, { type: "image_url", image_url: { url: "/api/uploads/abc" } }] },
        { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "get_color", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "c1", content: "red" },
      ],
      response_format: { type: "json_schema", json_schema: { name: "answer", schema: { type: "object" }, strict: true } },
      tool_choice: { type: "function", function: { name: "get_color" } },
      max_completion_tokens: 7,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(paramFor("messages.1.content.1.image_url.url")).toBe("input.0.content.1");
    expect(paramFor("response_format")).toBe("text.format");
    expect(paramFor("messages.0")).toBe("instructions");
    expect(paramFor("response_format.json_schema.schema")).toBe("text.format.schema");
    expect(paramFor("tools.0.function.name")).toBe("tools.0.name");
    expect(paramFor("messages.3")).toBe("input.2");
    expect(paramFor("messages.3.content.0.image_url.url")).toBe("input.2.output.0");
  });
});
