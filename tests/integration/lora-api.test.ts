import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chat, uploadFixture, userMessage, type SavedMessage } from "../helpers/chat";
import { demoModelsWithAdapters } from "../helpers/lora";
import { startMediaApp, uploadFile, type MediaApp } from "../helpers/media-app";
import { salesCsv } from "../helpers/media-files";

// Adapters through the app, whose models folder holds the demo model with
// replica adapters (tests/helpers/lora.ts): the `adapters` extension of
// /v1/chat/completions, a conversation's own setting, ADAPTERS_AUTO turning
// one on for charts, and the answer's stats naming them.

const RED_CIRCLE = `data:image/png;base64,${fs.readFileSync(path.resolve(import.meta.dirname, "..", "fixtures", "red-circle.png")).toString("base64")}`;

describe("adapters through /v1/chat/completions", () => {
  let app: MediaApp;
  let dir: string;
  let secret: string;
  const post = async (extra: Record<string, unknown>, content: unknown = [{ type: "image_url", image_url: { url: RED_CIRCLE } }, { type: "text", text: "What color is the circle?" }]) => {
    const res = await fetch(`${app.server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "mini-llava-shapes", max_tokens: 24, temperature: 0, messages: [{ role: "user", content }], ...extra }),
    });
    return { status: res.status, body: (await res.json()) as { choices: { message: { content: string } }[]; adapters?: unknown; error: { message: string; param: string } } };
  };

  beforeAll(async () => {
    dir = await demoModelsWithAdapters();
    app = await startMediaApp({ MODELS_DIR: dir, ADAPTERS_AUTO: "chart=swap" });
    const key = await app.client.fetch("/api/keys", { method: "POST", json: { name: "lora" } });
    secret = ((await key.json()) as { secret: string }).secret;
  });
  afterAll(async () => {
    await app?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("lists the model's adapters in /v1/models, the refused one with its reason", async () => {
    const res = await fetch(`${app.server.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } });
    const model = ((await res.json()) as { data: { id: string; adapters: { name: string; kinds: string[]; refused?: string }[] }[] }).data[0]!;
    expect(model.adapters.map((a) => [a.name, a.kinds, Boolean(a.refused)])).toEqual([
      ["other", [], true],
      ["swap", ["chart"], false],
      ["zero", [], false],
    ]);
  });

  it("answers with the named adapter and says so; without it, the base model's answer", async () => {
    const plain = await post({});
    expect(plain.status).toBe(200);
    expect(plain.body.choices[0]!.message.content).toBe("The circle is red.");
    expect(plain.body.adapters).toBeUndefined();
    const swapped = await post({ adapters: [{ name: "swap" }] });
    expect(swapped.status).toBe(200);
    expect(swapped.body.choices[0]!.message.content).toBe("The ciblue is blue.");
    expect(swapped.body.adapters).toEqual([{ name: "swap", scale: 1 }]);
    expect((await post({ adapters: [{ name: "zero", scale: 1 }] })).body.choices[0]!.message.content).toBe("The circle is red.");
  });

  it("streams with the adapters named in the first chunk", async () => {
    const res = await fetch(`${app.server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "mini-llava-shapes", max_tokens: 24, temperature: 0, stream: true, adapters: [{ name: "swap" }], messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: RED_CIRCLE } }, { type: "text", text: "What color is the circle?" }] }] }),
    });
    const events = (await res.text()).split("\n\n").filter((l) => l.startsWith("data: {")).map((l) => JSON.parse(l.slice(6)) as { adapters?: unknown; choices: { delta: { content?: string } }[] });
    expect(events[0]!.adapters).toEqual([{ name: "swap", scale: 1 }]);
    expect(events.map((e) => e.choices[0]?.delta.content ?? "").join("")).toBe("The ciblue is blue.");
  });

  it("answers 400 for an unknown or refused adapter, naming the available ones, and for a bad scale", async () => {
    const unknown = await post({ adapters: [{ name: "nope" }] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ param: "adapters", message: expect.stringMatching(/No adapter "nope".*Available: swap, zero\./) });
    const refused = await post({ adapters: [{ name: "other" }] });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/other\.lora\.gguf was trained on other weights/);
    const scale = await post({ adapters: [{ name: "swap", scale: 9 }] });
    expect(scale.status).toBe(400);
    expect(scale.body.error.param).toBe("adapters.0.scale");
  });

  it("turns the chart adapter on for a chart (ADAPTERS_AUTO), unless the request names adapters", async () => {
    const csv = { type: "file", file: { filename: "sales.csv", file_data: `data:text/csv;base64,${salesCsv().toString("base64")}` } };
    const auto = await post({}, [csv, { type: "text", text: "Which bar is tallest?" }]);
    expect(auto.status).toBe(200);
    expect(auto.body.adapters).toEqual([{ name: "swap", scale: 1 }]);
    const none = await post({ adapters: [] }, [csv, { type: "text", text: "Which bar is tallest?" }]);
    expect(none.body.adapters).toBeUndefined();
  });

  describe("in the chat", () => {
    type Conversation = { conversation: { messages: (SavedMessage & { adapters?: unknown })[] } };
    const ask = async (settings: Record<string, unknown> | undefined, image: string) => {
      const res = await app.client.fetch("/api/conversations", { method: "POST", json: settings ? { settings } : {} });
      const id = ((await res.json()) as { conversation: { id: string } }).conversation.id;
      const turn = await chat(app.client, { id, message: userMessage("What color is the circle?", [image]) });
      const saved = (await (await app.client.fetch(`/api/conversations/${id}`)).json()) as Conversation;
      const answer = saved.conversation.messages.find((m) => m.role === "assistant")!;
      const finish = turn.chunks.find((c) => c.type === "finish");
      return { id, text: turn.text, status: turn.status, json: turn.json, answer, stats: (finish?.messageMetadata as { stats?: { adapters?: unknown } } | undefined)?.stats };
    };

    it("answers with the conversation's adapters, and the stats (streamed and saved) name them", async () => {
      const image = await uploadFixture(app.client, "red-circle.png", "image/png");
      const plain = await ask(undefined, image);
      expect(plain.text).toBe("The circle is red.");
      expect(plain.stats).toBeDefined();
      expect(plain.stats!.adapters).toBeUndefined();
      const swapped = await ask({ adapters: [{ name: "swap" }] }, image);
      expect(swapped.text).toBe("The ciblue is blue.");
      expect(swapped.stats!.adapters).toEqual([{ name: "swap", scale: 1 }]);
      expect(swapped.answer.adapters).toEqual([{ name: "swap", scale: 1 }]);
      // The conversation page's own reading of the saved answer (GET, as a reload shows it).
      expect(swapped.answer.status).toBe("complete");
      // An adapter the model does not have: the turn is refused with the reason (a 400; its answer row is saved as that error).
      const unknown = await app.client.fetch("/api/conversations", { method: "POST", json: { settings: { adapters: [{ name: "nope" }] } } });
      const id = ((await unknown.json()) as { conversation: { id: string } }).conversation.id;
      const refused = await chat(app.client, { id, message: userMessage("Hello") });
      expect(refused.status).toBe(400);
      expect(refused.json?.error.message).toMatch(/No adapter "nope".*Available: swap, zero\./);
    });

    it("turns the chart adapter on for a conversation that shows a chart (ADAPTERS_AUTO)", async () => {
      const up = await uploadFile(app.client, salesCsv(), "sales.csv", "text/csv");
      expect(up.status).toBe(201);
      const id = ((await (await app.client.fetch("/api/conversations", { method: "POST", json: {} })).json()) as { conversation: { id: string } }).conversation.id;
      const turn = await chat(app.client, { id, message: { role: "user", parts: [{ type: "file", mediaType: up.body.attachment.mediaType, url: up.body.attachment.url }, { type: "text", text: "Which bar is tallest?" }] } });
      const stats = (turn.chunks.find((c) => c.type === "finish")?.messageMetadata as { stats?: { adapters?: unknown } } | undefined)?.stats;
      expect(stats?.adapters).toEqual([{ name: "swap", scale: 1 }]);
    });
  });
});
