import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { generateObject, streamText, tool } from "ai";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { z } from "zod";
import type OpenAI from "openai";
import type { TestClient } from "../helpers/client";
import { COLOURS, describeTool, openAiClient, RED, structuredCases } from "../helpers/openai-structured-cases";

// Issue #27 on the suite's shared in-process app: structured output, tools, logprobs and n
// (the same cases run on llama-server in openai-structured-llama-server.test.ts), the AI SDK
// through @ai-sdk/openai-compatible, and every new 400.

const baseUrl = inject("baseUrl");

describe("structured output, tools, logprobs and n in-process", () => {
  structuredCases(() => baseUrl, { canonicalTokens: false });
});

describe("the AI SDK and the refusals", () => {
  let secret: string;
  let model: string;
  let client: OpenAI;
  let user: TestClient;
  beforeAll(async () => {
    ({ secret, model, client, user } = await openAiClient(baseUrl));
  });
  const provider = () => createOpenAICompatible({ name: "local", baseURL: `${baseUrl}/v1`, apiKey: secret, supportsStructuredOutputs: true });
  const image = Buffer.from(RED.split(",")[1]!, "base64");

  it("generateObject with a zod schema and an image", async () => {
    const { object } = await generateObject({
      model: provider().chatModel(model),
      schema: z.object({ color: z.enum(COLOURS) }),
      temperature: 0,
      messages: [{ role: "user", content: [{ type: "image", image, mediaType: "image/png" }, { type: "text", text: "What color is the circle?" }] }],
    });
    expect(COLOURS).toContain(object.color);
  });

  it("streamText with a tool", async () => {
    const result = streamText({
      model: provider().chatModel(model),
      temperature: 0,
      tools: { record_shape: tool({ description: "Record the shape seen.", inputSchema: z.object({ shape: z.enum(["circle", "square", "triangle"]) }) }) },
      toolChoice: "required",
      messages: [{ role: "user", content: [{ type: "image", image, mediaType: "image/png" }, { type: "text", text: "What is in the image?" }] }],
    });
    const calls = await result.toolCalls;
    expect(calls).toHaveLength(1);
    expect(calls[0]!.toolName).toBe("record_shape");
    expect(["circle", "square", "triangle"]).toContain((calls[0]!.input as { shape: string }).shape);
    expect(await result.finishReason).toBe("tool-calls");
  });

  it("store: true keeps tool calls and results, and the conversation shows them", async () => {
    const asked = [{ role: "user" as const, content: [{ type: "image_url" as const, image_url: { url: RED } }, { type: "text" as const, text: "Which shape is this?" }] }];
    const first = await client.chat.completions.create({ model, temperature: 0, store: true, tools: [describeTool], tool_choice: "required", messages: asked });
    const call = first.choices[0]!.message.tool_calls![0]!;
    if (call.type !== "function") throw new Error("not a function call");
    await client.chat.completions.create({
      model,
      temperature: 0,
      store: true,
      messages: [...asked, { role: "assistant", content: null, tool_calls: [call] }, { role: "tool", tool_call_id: call.id, content: "Recorded." }, { role: "user", content: "What color is the circle?" }],
    });
    const list = (await (await user.fetch("/api/conversations")).json()) as { conversations: { id: string; title: string }[] };
    type Saved = { conversation: { messages: { role: string; parts: Record<string, unknown>[] }[] } };
    const saved = await Promise.all(list.conversations.filter((c) => c.title === "Which shape is this?").map(async (c) => ({ id: c.id, ...((await (await user.fetch(`/api/conversations/${c.id}`)).json()) as Saved) })));
    const answerOnly = saved.find((c) => c.conversation.messages.length === 2)!;
    expect(answerOnly.conversation.messages[1]!.parts).toEqual([{ type: "tool-call", id: call.id, name: "record_shape", arguments: call.function.arguments }]);
    const followUp = saved.find((c) => c.conversation.messages.length === 5)!;
    expect(followUp.conversation.messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "user", "assistant"]);
    expect(followUp.conversation.messages[2]!.parts).toEqual([{ type: "tool-result", toolCallId: call.id, name: "record_shape", text: "Recorded." }]);
    // The page renders them as folded blocks.
    const html = (await (await user.fetch(`/c/${followUp.id}`)).text()).replaceAll("<!-- -->", "");
    expect(html).toContain("Tool call: <code>record_shape(");
    expect(html).toContain("Tool result: record_shape");
    expect(html).toContain("Recorded.");
  });

  it("n=2 is one request to the key's usage, with both answers' tokens", async () => {
    const fresh = await openAiClient(baseUrl);
    const r = await fresh.client.chat.completions.create({ model, n: 2, temperature: 0, max_tokens: 30, messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: RED } }, { type: "text", text: "What color is the circle?" }] }] });
    expect(r.choices).toHaveLength(2);
    type Keys = { keys: { usage: { today: { promptTokens: number; completionTokens: number; images: number; requests: number } } }[] };
    let today: Keys["keys"][number]["usage"]["today"] | undefined;
    for (let i = 0; i < 50 && !today?.requests; i++) {
      today = ((await (await fresh.user.fetch("/api/keys")).json()) as Keys).keys[0]!.usage.today;
      if (!today.requests) await new Promise((res) => setTimeout(res, 100));
    }
    expect(today).toMatchObject({ requests: 1, images: 1, promptTokens: r.usage!.prompt_tokens, completionTokens: r.usage!.completion_tokens });
    // Both answers counted: the demo model spells "The circle is red." in 18 one-character tokens.
    expect(r.usage!.completion_tokens).toBe(2 * 18);
  });

  it("a tools answer cut off by max_tokens gives no half call: finish_reason length, no raw JSON in the content", async () => {
    const tools = [{ type: "function" as const, function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } }];
    const ask = { model, temperature: 0, max_tokens: 12, tools, tool_choice: "auto" as const, messages: [{ role: "user" as const, content: "What is the weather in Paris?" }] };
    const r = await client.chat.completions.create(ask);
    expect(r.choices[0]!.finish_reason).toBe("length");
    expect(r.choices[0]!.message.tool_calls ?? []).toEqual([]);
    expect(r.choices[0]!.message.content ?? "").not.toContain("tool_calls");
    const stream = await client.chat.completions.create({ ...ask, stream: true });
    let text = "";
    let finish: string | null = null;
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? "";
      expect(c.choices[0]?.delta.tool_calls).toBeUndefined();
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe("length");
    expect(text).not.toContain("tool_calls");
  });

  const post = async (body: Record<string, unknown>) => {
    const res = await fetch(`${baseUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }], ...body }),
    });
    return { status: res.status, error: ((await res.json()) as { error: { message: string; param: string | null } }).error };
  };

  it("refuses what it cannot honour with a 400 that says why, before generating", async () => {
    const schema = (s: Record<string, unknown>) => ({ response_format: { type: "json_schema", json_schema: { name: "x", schema: s } } });
    expect(await post(schema({ type: "object", properties: { n: { type: "number", multipleOf: 3 } } }))).toEqual({
      status: 400,
      error: expect.objectContaining({ param: "response_format.json_schema.schema", message: "The schema uses what llama.cpp's grammar cannot enforce: multipleOf at /properties/n." }),
    });
    expect((await post(schema({ not: { type: "string" } }))).error.message).toContain("not at the top level");
    expect((await post(schema({ type: "string", pattern: "[a-z]+" }))).error.message).toContain("it must be anchored with ^ and $");
    expect((await post(schema({ $ref: "https://example.com/s.json" }))).error.message).toContain("only local #/ references");
    expect((await post(schema({ type: "object", properties: { when: { type: "string", format: "email" } } }))).error.message).toContain('format "email" at /properties/when');
    expect((await post(schema({ type: "number", minimum: 0 }))).error.message).toContain("minimum on a non-integer");
    expect(await post({ n: 5 })).toEqual({ status: 400, error: expect.objectContaining({ param: "n", message: "n: n must be at most 4: each answer takes a slot of the local model" }) });
    expect(await post({ top_logprobs: 2 })).toEqual({ status: 400, error: expect.objectContaining({ param: "top_logprobs", message: "top_logprobs needs logprobs: true." }) });
    expect(await post({ logprobs: true, top_logprobs: 21 })).toMatchObject({ status: 400, error: { param: "top_logprobs" } });
    const tools = [{ type: "function", function: { name: "f", parameters: { type: "object", properties: { a: { type: "integer", multipleOf: 2 } } } } }];
    expect(await post({ tools, tool_choice: { type: "function", function: { name: "g" } } })).toEqual({
      status: 400,
      error: expect.objectContaining({ param: "tool_choice", message: "tool_choice names the function 'g', which is not among the tools." }),
    });
    expect(await post({ tools })).toEqual({ status: 400, error: expect.objectContaining({ param: "tools.0.function.parameters", message: "The schema uses what llama.cpp's grammar cannot enforce: multipleOf at /properties/a." }) });
    expect(await post({ tool_choice: "required" })).toMatchObject({ status: 400, error: { param: "tool_choice", message: "tool_choice needs tools." } });
    expect((await post({ tools: [{ type: "function", function: { name: "bad name" } }] })).status).toBe(400);
    expect(await post({ tools: [{ type: "function", function: { name: "f" } }], response_format: { type: "json_object" } })).toMatchObject({ status: 400, error: { param: "response_format" } });
    expect(await post({ response_format: { type: "json_schema", json_schema: { name: "x" } } })).toMatchObject({ status: 400, error: { param: "response_format.json_schema.schema" } });
  });
});
