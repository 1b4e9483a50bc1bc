import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chat, newConversation, resume, textOf, userMessage, type Chunk, type SavedMessage } from "../helpers/chat";
import { TestClient } from "../helpers/client";
import { databaseUrlFor } from "../helpers/database";
import { tinyRandomModel } from "../helpers/engine";
import { startServer, type RunningServer } from "../helpers/server";

// Answers written by the server whoever reads them (issue 24, item 2): the
// client leaving stops nothing; GET /api/chat/:id/stream joins the answer
// being written (what was written so far, then live), on the instance that
// writes it (its in-process stream) or on another one (the answer's row,
// saved every second); Stop (POST /api/chat/:id/stop) on either instance
// stops it for every reader. Two instances share one database (SQLite file,
// or PostgreSQL under npm run test:integration:pg). The random-weight pair
// writes until its answer budget, so every answer lasts long enough to be
// left, joined and stopped mid-way.

const BUDGET = 6000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const deltas = (all: Chunk[]) => all.filter((c) => c.type === "text-delta").length;

describe("resumable answers, on one instance and across two sharing a database", () => {
  const shared = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-resume-shared-"));
  const dataDirs = [fs.mkdtempSync(path.join(os.tmpdir(), "lvc-resume-a-")), fs.mkdtempSync(path.join(os.tmpdir(), "lvc-resume-b-"))];
  let a: RunningServer;
  let b: RunningServer;
  let alice: TestClient;
  let aliceOnB: TestClient;

  beforeAll(async () => {
    const { model } = await tinyRandomModel();
    const env = {
      DATABASE_URL: await databaseUrlFor(shared),
      UPLOAD_DIR: path.join(shared, "uploads"),
      AUTH_SECRET: randomBytes(32).toString("base64url"),
      TRUST_PROXY: "true",
      MODEL_PATH: model.path,
      MMPROJ_PATH: model.vision!.mmprojPath,
      CONTEXT_SIZE: "16384",
      MAX_ANSWER_TOKENS: String(BUDGET),
      IMAGE_INDEXER: "false",
    };
    a = await startServer({ dataDir: dataDirs[0]!, env });
    b = await startServer({ dataDir: dataDirs[1]!, env });
    alice = new TestClient(a.url);
    await alice.newAccount();
    aliceOnB = alice.copy(b.url);
    // The first request to a route loads its code: not while an answer is being timed.
    for (const client of [alice, aliceOnB]) {
      await client.fetch("/api/chat/none/stream");
      await client.fetch("/api/chat/none/stop", { method: "POST" });
    }
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    for (const dir of [shared, ...dataDirs]) fs.rmSync(dir, { recursive: true, force: true });
  });

  const saved = async (client: TestClient, id: string) =>
    ((await (await client.fetch(`/api/conversations/${id}`)).json()) as { conversation: { messages: SavedMessage[] } }).conversation.messages;
  /** The conversation once its answer is no longer being written. */
  const settled = async (id: string, timeoutMs = 60_000) => {
    for (const deadline = Date.now() + timeoutMs; ; await sleep(200)) {
      const messages = await saved(alice, id);
      if (messages.every((m) => m.status !== "streaming")) return messages;
      expect(Date.now()).toBeLessThan(deadline);
    }
  };
  const slotsBusy = async (server: RunningServer) =>
    ((await (await fetch(`${server.url}/api/health`)).json()) as { model: { slotsBusy: number } }).model.slotsBusy;

  it("an answer whose reader leaves goes on to its end and is saved complete", async () => {
    const id = await newConversation(alice);
    const left = await chat(alice, { id, message: userMessage("Hello") }, { onChunk: (_c, all) => deltas(all) === 5 });
    expect(deltas(left.chunks)).toBe(5);
    const messages = await settled(id);
    const answer = messages[1]!;
    expect(answer.status).toBe("complete");
    expect(answer.finishReason).toBe("length");
    // Written to the budget, long after the reader left, and it begins with what the reader saw.
    expect(answer.parts[0]!.text!.startsWith(left.text)).toBe(true);
    expect(answer.parts[0]!.text!.length).toBeGreaterThan(left.text.length * 10);
  });

  it("GET /api/chat/:id/stream mid-answer replays what was written, then follows it live; the saved answer is exactly that text", async () => {
    const id = await newConversation(alice);
    let joined: Promise<Awaited<ReturnType<typeof resume>>> | undefined;
    let seenWhenJoined = "";
    const writer = chat(alice, { id, message: userMessage("Hello") }, {
      onChunk: (_c, all) => {
        if (deltas(all) === 40 && !joined) {
          seenWhenJoined = textOf(all);
          joined = resume(alice, id);
        }
      },
    });
    const first = await writer;
    const second = await joined!;
    expect(second.status).toBe(200);
    expect(second.chunks[0]).toMatchObject({ type: "start" });
    // The replay starts with what had been written when it joined, then the rest.
    expect(second.text.startsWith(seenWhenJoined)).toBe(true);
    expect(second.text).toBe(first.text);
    expect(first.chunks.at(-1)?.type).toBe("finish");
    expect(second.chunks.at(-1)?.type).toBe("finish");
    const messages = await settled(id);
    expect(messages[1]!.status).toBe("complete");
    expect(messages[1]!.parts[0]!.text).toBe(first.text);
    // Nothing more to join now.
    expect((await alice.fetch(`/api/chat/${id}/stream`)).status).toBe(204);
  });

  it("a reload served by the other instance shows the same growing text, from the answer's row", async () => {
    const id = await newConversation(alice);
    let joined: Promise<Awaited<ReturnType<typeof resume>>> | undefined;
    const growth: number[] = [];
    const writer = chat(alice, { id, message: userMessage("Hello") }, {
      onChunk: (_c, all) => {
        if (deltas(all) === 20 && !joined) {
          joined = resume(aliceOnB, id, { onChunk: (c, seen) => void (c.type === "text-delta" && growth.push(textOf(seen).length)) });
        }
      },
    });
    const first = await writer;
    const onB = await joined!;
    expect(onB.status).toBe(200);
    // It grew in several steps (the writer saves every second), not in one piece at the end.
    expect(growth.length).toBeGreaterThan(1);
    expect(onB.text).toBe(first.text);
    expect(onB.chunks.at(-1)).toMatchObject({ type: "finish", messageMetadata: { status: "complete", finishReason: "length" } });
    const messages = await settled(id);
    expect(messages[1]!.parts[0]!.text).toBe(first.text);
  });

  it("Stop on the other instance stops the answer for every reader; what they show is what was saved", async () => {
    const id = await newConversation(alice);
    let joined: Promise<Awaited<ReturnType<typeof resume>>> | undefined;
    let stopped: Promise<Response> | undefined;
    const writer = chat(alice, { id, message: userMessage("Hello") }, {
      onChunk: (_c, all) => {
        if (deltas(all) === 10 && !joined) joined = resume(aliceOnB, id);
        if (deltas(all) === 30 && !stopped) stopped = aliceOnB.fetch(`/api/chat/${id}/stop`, { method: "POST" });
      },
    });
    const first = await writer;
    const res = await stopped!;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ stopped: true });
    const onB = await joined!;
    expect(first.chunks.at(-1)?.type).toBe("abort");
    const messages = await settled(id);
    const answer = messages[1]!;
    expect(answer.status).toBe("stopped");
    expect(answer.error).toBeNull();
    expect(answer.parts[0]!.text).toBe(first.text);
    expect(onB.text).toBe(first.text);
    expect(onB.chunks.at(-1)).toMatchObject({ type: "finish", messageMetadata: { status: "stopped" } });
    // Stopped long before its budget, and A's slot is free.
    expect(deltas(first.chunks)).toBeLessThan(BUDGET / 2);
    for (let i = 0; (await slotsBusy(a)) !== 0; i++) {
      expect(i).toBeLessThan(20);
      await sleep(100);
    }
  });

  it("Stop on the writing instance ends every reader's stream at once", async () => {
    const id = await newConversation(alice);
    let joined: Promise<Awaited<ReturnType<typeof resume>>> | undefined;
    let stopped: Promise<Response> | undefined;
    const writer = chat(alice, { id, message: userMessage("Hello") }, {
      onChunk: (_c, all) => {
        if (deltas(all) === 10 && !joined) joined = resume(alice, id);
        if (deltas(all) === 30 && !stopped) stopped = alice.fetch(`/api/chat/${id}/stop`, { method: "POST" });
      },
    });
    const first = await writer;
    expect((await stopped!).status).toBe(200);
    const second = await joined!;
    expect(second.text).toBe(first.text);
    expect(second.chunks.at(-1)?.type).toBe("abort");
    const answer = (await settled(id))[1]!;
    expect(answer.status).toBe("stopped");
    expect(answer.parts[0]!.text).toBe(first.text);
    // Nothing is being written any more.
    expect(await (await alice.fetch(`/api/chat/${id}/stop`, { method: "POST" })).json()).toEqual({ stopped: false });
  });

  it("deleting the answer being written stops it first; the question stays", async () => {
    const id = await newConversation(alice);
    let deleted: Promise<Response> | undefined;
    let answerId = "";
    const writer = chat(alice, { id, message: userMessage("Hello") }, {
      onChunk: (c, all) => {
        if (c.type === "start") answerId = String(c.messageMetadata?.assistantMessageId);
        if (deltas(all) === 10 && !deleted) deleted = alice.fetch(`/api/conversations/${id}/messages/${answerId}`, { method: "DELETE" });
      },
    });
    const r = await writer;
    const res = await deleted!;
    expect(res.status).toBe(200);
    expect(r.chunks.at(-1)).toMatchObject({ type: "error", errorText: expect.stringMatching(/deleted/) });
    expect(deltas(r.chunks)).toBeLessThan(BUDGET / 2);
    const messages = await saved(alice, id);
    expect(messages.map((m) => m.role)).toEqual(["user"]);
    expect((await res.json()).messages.map((m: { role: string }) => m.role)).toEqual(["user"]);
    for (let i = 0; (await slotsBusy(a)) !== 0; i++) {
      expect(i).toBeLessThan(20);
      await sleep(100);
    }
  });

  it("someone else's conversation is not found: no joining, no stopping", async () => {
    const id = await newConversation(alice);
    const writer = chat(alice, { id, message: userMessage("Hello") }, { onChunk: (_c, all) => deltas(all) === 5 });
    await writer;
    const mallory = new TestClient(a.url);
    await mallory.newAccount();
    expect((await mallory.fetch(`/api/chat/${id}/stream`)).status).toBe(404);
    expect((await mallory.fetch(`/api/chat/${id}/stop`, { method: "POST" })).status).toBe(404);
    expect((await mallory.copy(b.url).fetch(`/api/chat/${id}/stop`, { method: "POST" })).status).toBe(404);
    // Still being written for its owner.
    expect((await saved(alice, id))[1]!.status).toBe("streaming");
    await alice.fetch(`/api/chat/${id}/stop`, { method: "POST" });
  });
});
