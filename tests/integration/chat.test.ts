import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { chat, newConversation, uploadFixture, userMessage } from "../helpers/chat";
import { TestClient } from "../helpers/client";
import { tinyRandomModel } from "../helpers/engine";
import { startServer, type RunningServer } from "../helpers/server";

// Against the real server, a real SQLite file and the shipped demo model
// (models/tiny), which answers questions about simple shapes.

const baseUrl = inject("baseUrl");

interface SavedMessage {
  id: string;
  role: string;
  status: string;
  parts: { type: string; text?: string }[];
  completionTokens: number | null;
  reusedTokens: number | null;
}

async function conversation(client: TestClient, id: string) {
  const res = await client.fetch(`/api/conversations/${id}`);
  return ((await res.json()) as {
    conversation: { title: string; messages: SavedMessage[]; path: SavedMessage[] };
  }).conversation;
}

async function waitForIdle() {
  for (let i = 0; i < 100; i++) {
    const health = await (await fetch(`${baseUrl}/api/health`)).json();
    if (health.model.status === "ready" && health.model.slotsBusy === 0) return health;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the engine did not become idle");
}

describe("POST /api/chat", () => {
  const alice = new TestClient(baseUrl);
  const bob = new TestClient(baseUrl);
  beforeAll(async () => {
    await alice.newAccount();
    await bob.newAccount();
    await waitForIdle();
  });

  it("streams an answer about an uploaded PNG as UI message chunks and saves both messages", async () => {
    const id = await newConversation(alice);
    const image = await uploadFixture(alice, "red-circle.png", "image/png");
    const r = await chat(alice, { id, message: userMessage("What color is the circle?", [image]) });
    expect(r.status).toBe(200);
    const types = r.chunks.map((c) => c.type);
    expect(types[0]).toBe("start");
    expect(types).toEqual(expect.arrayContaining(["text-start", "text-delta", "text-end", "finish"]));
    expect(types.filter((t) => t === "text-delta").length).toBeGreaterThan(3);
    expect(r.text).toMatch(/\bred\b/);
    expect(r.chunks[0]!.messageMetadata).toMatchObject({ conversationId: id });

    const saved = await conversation(alice, id);
    expect(saved.title).toBe("What color is the circle?");
    expect(saved.messages.map((m) => [m.role, m.status])).toEqual([
      ["user", "complete"],
      ["assistant", "complete"],
    ]);
    expect(saved.messages[0]!.parts.map((p) => p.type)).toEqual(["image", "text"]);
    expect(saved.messages[1]!.parts[0]!.text).toBe(r.text);
    expect(saved.messages[1]!.completionTokens).toBeGreaterThan(0);
  });

  it("answers about a JPEG too", async () => {
    const id = await newConversation(alice);
    const image = await uploadFixture(alice, "blue-square.jpg", "image/jpeg");
    const r = await chat(alice, { id, message: userMessage("What color is the square?", [image]) });
    expect(r.text).toMatch(/\bblue\b/);
  });

  it("keeps the image across turns: image, a text-only turn, then a question about the image", async () => {
    const id = await newConversation(alice);
    const image = await uploadFixture(alice, "red-circle.png", "image/png");
    const t1 = await chat(alice, { id, message: userMessage("What shape is red?", [image]) });
    expect(t1.text).toMatch(/circle/);
    const t2 = await chat(alice, { id, message: userMessage("Thank you!") });
    expect(t2.text.length).toBeGreaterThan(0);
    const t3 = await chat(alice, { id, message: userMessage("What color is the circle?") });
    expect(t3.text).toMatch(/\bred\b/);
    // Turn 3 reused the cached state of the earlier turns (image included).
    const saved = await conversation(alice, id);
    expect(saved.messages).toHaveLength(6);
    expect(saved.messages[5]!.reusedTokens).toBeGreaterThan(36);
  });

  it("refuses another user's image with 404 and saves nothing", async () => {
    const id = await newConversation(bob);
    const alicesImage = await uploadFixture(alice, "red-circle.png", "image/png");
    const r = await chat(bob, { id, message: userMessage("What is this?", [alicesImage]) });
    expect(r.status).toBe(404);
    expect(r.json!.error).toEqual({ code: "not_found:attachment", message: "Image not found." });
    expect((await conversation(bob, id)).messages).toEqual([]);
  });

  it("refuses someone else's conversation, remote URLs and paths", async () => {
    const alicesConversation = await newConversation(alice);
    expect((await chat(bob, { id: alicesConversation, message: userMessage("hi") })).status).toBe(404);
    const bobs = await newConversation(bob);
    for (const url of ["https://example.com/cat.png", "/etc/passwd", "file:///etc/passwd", "/api/uploads/../../etc/passwd"]) {
      const r = await chat(bob, { id: bobs, message: userMessage("hi", [url]) });
      expect(r.status, url).toBe(400);
      expect(r.json!.error.message).toMatch(/uploaded first/);
    }
    expect((await conversation(alice, alicesConversation)).messages).toEqual([]);
  });

  it("keeps a regenerated answer and an edited question as versions instead of replacing them", async () => {
    const id = await newConversation(alice);
    const image = await uploadFixture(alice, "red-circle.png", "image/png");
    await chat(alice, { id, message: userMessage("What color is the circle?", [image]) });
    const again = await chat(alice, { id, trigger: "regenerate-message" });
    expect(again.text).toMatch(/red/);
    let saved = await conversation(alice, id);
    expect(saved.messages.map((m) => m.role)).toEqual(["user", "assistant", "assistant"]);
    expect(saved.path.map((m) => m.role)).toEqual(["user", "assistant"]);

    const edited = await chat(alice, { id, messageId: saved.path[0]!.id, message: userMessage("How many shapes are there?", [image]) });
    expect(edited.text).toBe("There is 1 shape.");
    saved = await conversation(alice, id);
    expect(saved.messages).toHaveLength(5);
    expect(saved.path.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect(saved.path[0]!.parts.at(-1)!.text).toBe("How many shapes are there?");
  });

  it("answers malformed bodies with 400", async () => {
    const id = await newConversation(alice);
    for (const body of [{}, { id }, { id, message: { role: "assistant", parts: [{ type: "text", text: "x" }] } }, { id, message: { role: "user", parts: [] } }]) {
      const r = await chat(alice, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
  });
});

describe("a client that goes away mid-answer", () => {
  // The demo model answers in a few dozen milliseconds, faster than a
  // disconnect can land; a server on the random-weight pair writes until its
  // answer budget (1024 tokens), so the disconnect always comes mid-answer.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-abort-"));
  let server: RunningServer;
  let client: TestClient;
  beforeAll(async () => {
    const { model } = await tinyRandomModel();
    server = await startServer({ dataDir, env: { MODEL_PATH: model.path, MMPROJ_PATH: model.vision!.mmprojPath } });
    client = new TestClient(server.url);
    await client.newAccount();
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("does not stop the answer: it is written to its end and saved complete, and the next request is served", async () => {
    // Issue 24: an answer carries on when its page goes away (tests/integration/resumable-answers.test.ts joins one).
    const id = await newConversation(client);
    const r = await chat(client, { id, message: userMessage("Hello") }, { onChunk: (_c, all) => all.filter((c) => c.type === "text-delta").length === 5 });
    let saved = await conversation(client, id);
    for (let i = 0; i < 600 && saved.messages[1]?.status === "streaming"; i++) {
      await new Promise((res) => setTimeout(res, 100));
      saved = await conversation(client, id);
    }
    const answer = saved.messages[1]!;
    expect(answer.status).toBe("complete");
    expect((answer as SavedMessage & { finishReason: string }).finishReason).toBe("length");
    // What the client saw is the start of what was saved, written long after it left.
    const text = answer.parts[0]!.text!;
    expect(text.startsWith(r.text)).toBe(true);
    expect(text.length).toBeGreaterThan(r.text.length * 10);

    const health = await (await fetch(`${server.url}/api/health`)).json();
    expect(health.model.slotsBusy).toBe(0);
    const next = await chat(client, { id, message: userMessage("Again") }, { onChunk: (c) => c.type === "text-delta" });
    expect(next.text.length).toBeGreaterThan(0);
    await client.fetch(`/api/chat/${id}/stop`, { method: "POST" });
  });
});
