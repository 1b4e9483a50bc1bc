import { describe, expect, it } from "vitest";
import { nonCanonicalByteTokens } from "@/lib/engine/canonical-tokens";
import { fromBindingToken, fromServerProbs, logOf } from "@/lib/engine/logprobs";
import { schemaValidator, unsupportedSchemaFeatures } from "@/lib/openai/json-schema-support";
import { modelText } from "@/lib/chat/message-parts";
import { parseToolAnswer, ResponseText, toolAnswerSchema, toolsPrompt, type FunctionTool } from "@/lib/openai/tool-calls";

describe("which JSON schemas the grammar can enforce", () => {
  it("takes what llama.cpp's json-schema-to-grammar turns into rules", () => {
    expect(
      unsupportedSchemaFeatures({
        $schema: "https://json-schema.org/draft/2020-12/schema",
        type: "object",
        title: "t",
        properties: {
          color: { type: "string", enum: ["red", "blue"], description: "d" },
          n: { type: "integer", minimum: 0, maximum: 9 },
          tags: { type: "array", items: { type: "string", minLength: 1, maxLength: 8 }, minItems: 1, maxItems: 3 },
          when: { type: "string", format: "date-time" },
          code: { type: "string", pattern: "^[A-Z]{3}$" },
          either: { anyOf: [{ type: "null" }, { $ref: "#/$defs/x" }] },
          pair: { type: "array", prefixItems: [{ type: "number" }, { type: "boolean" }] },
        },
        required: ["color"],
        additionalProperties: false,
        $defs: { x: { const: 3 } },
      }),
    ).toEqual([]);
  });

  it("names each keyword it would silently loosen or fail on, with where it is", () => {
    expect(unsupportedSchemaFeatures({ type: "object", properties: { n: { type: "number", multipleOf: 3, minimum: 1 } }, not: { required: ["x"] } })).toEqual([
      "multipleOf at /properties/n",
      "minimum on a non-integer at /properties/n (only integer bounds are enforced)",
      "not at the top level",
    ]);
    expect(unsupportedSchemaFeatures({ type: "array", items: { type: "string" }, uniqueItems: true })).toEqual(["uniqueItems at the top level"]);
    expect(unsupportedSchemaFeatures({ type: "strange" })).toEqual(['type "strange" at the top level']);
    expect(unsupportedSchemaFeatures({ $ref: "other.json#/a" })).toEqual(['$ref "other.json#/a" at the top level (only local #/ references)']);
    expect(unsupportedSchemaFeatures({ type: "string", format: "email" })).toEqual(['format "email" at the top level']);
    expect(unsupportedSchemaFeatures({ type: "string", pattern: "^\\d+$" })[0]).toMatch(/back-references and \\d/);
    expect(unsupportedSchemaFeatures({ type: "string", pattern: "^(?=a)a$" })[0]).toMatch(/lookarounds/);
    expect(unsupportedSchemaFeatures({ type: "string", pattern: "abc" })[0]).toMatch(/anchored/);
    expect(unsupportedSchemaFeatures({ if: {}, then: {} })).toEqual(["if at the top level", "then at the top level"]);
    // A tool's parameters sit inside the tools' schema: a pointer from their own root would not resolve there.
    expect(unsupportedSchemaFeatures({ $ref: "#/$defs/a", $defs: { a: {} } }, "", { refs: false })[0]).toMatch(/self-contained/);
  });

  it("validates answers against the schema", () => {
    const v = schemaValidator({ $schema: "http://json-schema.org/draft-07/schema#", type: "object", properties: { c: { enum: ["red"] }, d: { $ref: "#/$defs/x" } }, required: ["c"], additionalProperties: false, $defs: { x: { type: "integer" } } });
    if ("error" in v) throw new Error(v.error);
    expect(v.validate({ c: "red", d: 2 })).toBeNull();
    expect(v.validate({ c: "blue" })).toMatch(/^c: /);
    expect(v.validate({ c: "red", extra: 1 })).not.toBeNull();
    expect(v.validate({ c: "red", d: 1.5 })).toMatch(/^d: /);
  });
});

describe("tool calls by constrained generation", () => {
  const tools: FunctionTool[] = [
    { name: "weather", description: "Weather in a city.", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
    { name: "time" },
  ];

  it("constrains required and named choices to calls, auto to a call or a response", () => {
    const required = toolAnswerSchema(tools, { kind: "required" }, true) as { properties: { tool_calls: { items: { anyOf: unknown[] }; maxItems: number } } };
    expect(required.properties.tool_calls.items.anyOf).toHaveLength(2);
    expect(required.properties.tool_calls.maxItems).toBe(4);
    const named = toolAnswerSchema(tools, { kind: "named", name: "time" }, true) as { properties: { tool_calls: { items: { properties: { name: unknown; arguments: unknown } }; maxItems: number } } };
    expect(named.properties.tool_calls.items.properties).toEqual({ name: { const: "time" }, arguments: { type: "object" } });
    expect(named.properties.tool_calls.maxItems).toBe(1);
    expect((toolAnswerSchema(tools, { kind: "required" }, false) as { properties: { tool_calls: { maxItems: number } } }).properties.tool_calls.maxItems).toBe(1);
    const auto = toolAnswerSchema(tools, { kind: "auto" }, true) as { anyOf: { properties: Record<string, unknown> }[] };
    expect(auto.anyOf.map((a) => Object.keys(a.properties))).toEqual([["tool_calls"], ["response"]]);
    expect(unsupportedSchemaFeatures(auto)).toEqual([]);
    expect(toolsPrompt(tools, { kind: "auto" })).toContain('- weather: Weather in a city.\n  arguments (JSON schema): {"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}');
  });

  it("parses calls and responses, and refuses anything else", () => {
    expect(parseToolAnswer('{ "tool_calls" : [ { "name" : "weather", "arguments" : { "city" : "Oslo" } } ] }')).toEqual({ calls: [{ name: "weather", arguments: { city: "Oslo" } }] });
    expect(parseToolAnswer('{"response": "It is sunny."}')).toEqual({ response: "It is sunny." });
    expect(parseToolAnswer('{"tool_calls": [{"name": "weather", "argu')).toBeNull();
    expect(parseToolAnswer('{"tool_calls": []}')).toBeNull();
    expect(parseToolAnswer("[1]")).toBeNull();
  });

  it("streams an auto answer's response as it is written, and holds a call back", () => {
    const r = new ResponseText();
    const pieces = ['{ "res', 'ponse" : "It ', "is \\", '"sun\\u00', "e9\\ny", '" }'];
    expect(pieces.map((p) => r.push(p))).toEqual(["", "It ", "is ", '"sun', "é\ny", ""]);
    expect(r.kind).toBe("response");
    const c = new ResponseText();
    expect(c.push('{"tool_calls": [')).toBe("");
    expect(c.kind).toBe("calls");
  });

  it("shows earlier calls and results to the model in the shape it writes them", () => {
    expect(
      modelText([
        { type: "text", text: "Let me look." },
        { type: "tool-call", id: "c1", name: "weather", arguments: '{"city":"Oslo"}' },
        { type: "tool-call", id: "c2", name: "time", arguments: "not json" },
      ]),
    ).toBe('Let me look.\n{"tool_calls":[{"name":"weather","arguments":{"city":"Oslo"}},{"name":"time","arguments":"not json"}]}');
    expect(modelText([{ type: "tool-result", toolCallId: "c1", name: "weather", text: "Sunny." }, { type: "image", attachmentId: "a" }])).toBe("Result of weather (c1):\nSunny.");
    expect(modelText([{ type: "text", text: "a" }, { type: "image", attachmentId: "x" }, { type: "text", text: "b" }])).toBe("a\nb");
  });
});

describe("log-probabilities", () => {
  it("passes llama-server's log-probabilities on, cut to top_logprobs", () => {
    expect(fromServerProbs([{ token: "é", logprob: -0.1, top_logprobs: [{ token: "é", logprob: -0.1 }, { token: "e", logprob: -2.5, bytes: [101] }] }], 1)).toEqual([
      { token: "é", logprob: -0.1, bytes: [195, 169], top: [{ token: "é", logprob: -0.1, bytes: [195, 169] }] },
    ]);
  });

  it("turns the binding's probabilities into logs, spelling candidate ids", () => {
    const spell = (id: number) => ({ 1: "a", 2: "b", 3: "c" })[id] ?? "";
    const t = fromBindingToken({ token: "b", probs: [{ tok: 1, prob: 0.25 }, { tok: 2, prob: 0.75 }] }, 5, spell);
    expect(t.token).toBe("b");
    expect(t.logprob).toBeCloseTo(Math.log(0.75));
    expect(t.top.map((a) => a.token)).toEqual(["b", "a"]);
    expect(t.top[1]!.logprob).toBeCloseTo(Math.log(0.25));
    // Greedy sampling keeps one candidate: the chosen token, certain.
    expect(fromBindingToken({ token: "c", probs: [{ tok: 3, prob: 1 }] }, 0, spell)).toEqual({ token: "c", logprob: 0, bytes: [99], top: [] });
    expect(logOf(0)).toBe(-9999);
  });
});

describe("byte tokens a grammar must not use", () => {
  it("bans <0xNN> for ASCII characters with a token of their own (space as ▁), and nothing else", () => {
    const tokens = ["<unk>", "<s>", "<0x0A>", "<0x20>", "<0x22>", "<0x7B>", "<0xC3>", "▁", '"', "a"];
    const types = [2, 3, 6, 6, 6, 6, 6, 1, 1, 1];
    // Newline has no token but its byte; { has none either; 0xC3 is half a character.
    expect(nonCanonicalByteTokens(tokens, types)).toEqual([3, 4]);
    expect(nonCanonicalByteTokens(tokens, undefined)).toEqual([]);
  });
});
