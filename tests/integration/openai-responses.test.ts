import fs from "node:fs";
import path from "node:path";
import OpenAI from "openai";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { TestClient } from "../helpers/client";

// POST /v1/responses through the official `openai` client's responses.create
// and responses.stream, against the shared app and the shipped demo model
// (which answers questions about simple shapes). One account, one key.

const baseUrl = inject("baseUrl");
const fixture = (name: string) => fs.readFileSync(path.resolve(import.meta.dirname, "..", "fixtures", name));
const dataUri = (name: string, type: string) => `data:${type};base64,${fixture(name).toString("base64")}`;
const RED = dataUri("red-circle.png", "image/png");
const BLUE = dataUri("blue-square.jpg", "image/jpeg");

const COLOURS = ["red", "green", "blue", "yellow", "purple", "orange"];
const colourSchema = { type: "object", properties: { color: { type: "string", enum: COLOURS } }, required: ["color"], additionalProperties: false };
const recordShape: OpenAI.Responses.FunctionTool = {
  type: "function",
  name: "record_shape",
  description: "Record the shape and colour seen in the image.",
  parameters: { type: "object", properties: { shape: { type: "string", enum: ["circle", "square", "triangle"] }, color: { type: "string", enum: COLOURS } }, required: ["shape", "color"], additionalProperties: false },
  strict: true,
};

const ask = (image: string, text: string): OpenAI.Responses.ResponseInput => [
  { role: "user", content: [{ type: "input_image", image_url: image, detail: "auto" }, { type: "input_text", text }] },
];

describe("the Responses API", () => {
  let client: OpenAI;
  let model: string;
  let secret: string;
  beforeAll(async () => {
    const alice = new TestClient(baseUrl);
    await alice.newAccount();
    secret = ((await (await alice.fetch("/api/keys", { method: "POST", json: { name: "responses" } })).json()) as { secret: string }).secret;
    client = new OpenAI({ apiKey: secret, baseURL: `${baseUrl}/v1`, maxRetries: 0, timeout: 120_000 });
    model = (await client.models.list()).data[0]!.id;
  });

  it("answers an input_image sent as a data: URI, with usage", async () => {
    const r = await client.responses.create({ model, temperature: 0, input: ask(RED, "What color is the circle?") });
    expect(r).toMatchObject({ object: "response", status: "completed", model, error: null, store: false });
    expect(r.id).toMatch(/^resp_/);
    expect(r.output).toHaveLength(1);
    expect(r.output[0]).toMatchObject({ type: "message", role: "assistant", status: "completed" });
    expect(r.output_text).toMatch(/\bred\b/);
    const u = r.usage!;
    expect(u.input_tokens).toBeGreaterThan(36); // the image's tokens are counted
    expect(u.output_tokens).toBeGreaterThan(0);
    expect(u.total_tokens).toBe(u.input_tokens + u.output_tokens);
    expect(u.input_tokens_details.cached_tokens).toBeGreaterThanOrEqual(0);
  });

  it("streams the Responses events in order; the final text is the deltas joined", async () => {
    const stream = client.responses.stream({ model, temperature: 0, input: ask(BLUE, "What color is the square?") });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const e of stream) events.push(e);
    const final = await stream.finalResponse();
    const types = events.map((e) => e.type);
    const deltas = events.flatMap((e) => (e.type === "response.output_text.delta" ? [e.delta] : []));
    expect(deltas.length).toBeGreaterThan(2);
    expect(types).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      ...deltas.map(() => "response.output_text.delta"),
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect(final.output_text).toBe(deltas.join(""));
    expect(final.output_text).toMatch(/\bblue\b/);
    expect(final.usage!.output_tokens).toBeGreaterThan(0);
    expect(final.usage!.input_tokens).toBeGreaterThan(36);
  });

  it("puts instructions before the input, and stops at max_output_tokens", async () => {
    const input = "What shapes do you know?";
    const plain = await client.responses.create({ model, temperature: 0, input });
    const instructed = await client.responses.create({ model, temperature: 0, input, instructions: "You are a careful assistant who answers in one short sentence." });
    expect(instructed.instructions).toBe("You are a careful assistant who answers in one short sentence.");
    expect(instructed.usage!.input_tokens).toBeGreaterThan(plain.usage!.input_tokens + 8);
    const cut = await client.responses.create({ model, temperature: 0, input: ask(RED, "Describe the picture in detail."), max_output_tokens: 2 });
    expect(cut.status).toBe("incomplete");
    expect(cut.incomplete_details).toEqual({ reason: "max_output_tokens" });
    expect(cut.usage!.output_tokens).toBeLessThanOrEqual(2);
  });

  it("answers under text.format json_schema with an image: the output parses and validates", async () => {
    const r = await client.responses.create({ model, temperature: 0, input: ask(RED, "What color is the circle?"), text: { format: { type: "json_schema", name: "colour", schema: colourSchema, strict: true } } });
    const value = JSON.parse(r.output_text) as { color: string };
    expect(Object.keys(value)).toEqual(["color"]);
    expect(COLOURS).toContain(value.color);
  });

  it("calls a function tool, streamed as function_call events, and takes its output in the next turn", async () => {
    const question = ask(RED, "What is in the image?");
    const stream = client.responses.stream({ model, temperature: 0, input: question, tools: [recordShape], tool_choice: "required" });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const e of stream) events.push(e);
    const final = await stream.finalResponse();
    const deltas = events.flatMap((e) => (e.type === "response.function_call_arguments.delta" ? [e.delta] : []));
    expect(events.map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      ...deltas.map(() => "response.function_call_arguments.delta"),
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(final.output).toHaveLength(1);
    const call = final.output[0] as OpenAI.Responses.ResponseFunctionToolCall;
    expect(call).toMatchObject({ type: "function_call", name: "record_shape", status: "completed", call_id: expect.stringMatching(/^call_/) });
    expect(call.arguments).toBe(deltas.join(""));
    const args = JSON.parse(call.arguments) as { shape: string; color: string };
    expect(["circle", "square", "triangle"]).toContain(args.shape);
    expect(COLOURS).toContain(args.color);

    const next = await client.responses.create({
      model,
      temperature: 0,
      max_output_tokens: 8,
      input: [...question, { type: "function_call", call_id: call.call_id, name: call.name, arguments: call.arguments }, { type: "function_call_output", call_id: call.call_id, output: "Recorded." }],
    });
    expect(next.output[0]).toMatchObject({ type: "message", role: "assistant" });
    // The call and its output are in the prompt.
    const plain = await client.responses.create({ model, temperature: 0, max_output_tokens: 1, input: question });
    expect(next.usage!.input_tokens).toBeGreaterThan(plain.usage!.input_tokens + 5);
  });

  it("refuses what it cannot honour with a 400 naming the field", async () => {
    const refused = async (body: Record<string, unknown>) => {
      const err = await client.responses.create({ model, input: "Hi", ...body } as OpenAI.Responses.ResponseCreateParamsNonStreaming).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      const e = err as InstanceType<typeof OpenAI.BadRequestError>;
      return { message: e.message, param: e.param };
    };
    expect(await refused({ previous_response_id: "resp_123" })).toEqual({
      message: "400 previous_response_id is not supported: this server keeps no responses. Send the whole conversation in input.",
      param: "previous_response_id",
    });
    expect(await refused({ tools: [{ type: "web_search" }] })).toMatchObject({ message: expect.stringContaining("web_search tools are not available here"), param: "tools.0.type" });
    expect(await refused({ input: [{ role: "user", content: [{ type: "input_image", file_id: "file-1", detail: "auto" }] }] })).toMatchObject({
      message: expect.stringContaining("file ids are not kept"),
      param: "input.0.content.0.file_id",
    });
    // Refused by chat completions underneath, and named in the Responses request's terms.
    expect(await refused({ input: ask("https://example.com/cat.png", "What is it?") })).toMatchObject({
      message: expect.stringContaining("remote URLs and file paths are never fetched"),
      param: "input.0.content.0",
    });
    expect(await refused({ text: { format: { type: "json_schema", name: "n", schema: { type: "object", properties: { n: { type: "number", multipleOf: 2 } } } } } })).toEqual({
      message: "400 The schema uses what llama.cpp's grammar cannot enforce: multipleOf at /properties/n.",
      param: "text.format.schema",
    });
    expect(await refused({ temperature: 3 })).toMatchObject({ message: expect.stringMatching(/^400 temperature: /), param: "temperature" });
    // Without a key: 401 in OpenAI's shape.
    const res = await fetch(`${baseUrl}/v1/responses`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, input: "Hi" }) });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_api_key");
  });
});
