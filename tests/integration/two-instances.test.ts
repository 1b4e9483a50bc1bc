import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { PrismaClient } from "@prisma/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ORPHANED_ANSWER_ERROR } from "../../lib/chat/message-parts";
import { chat, newConversation, uploadFixture, userMessage, type Chunk, type SavedMessage } from "../helpers/chat";
import { TestClient } from "../helpers/client";
import { connectDatabase } from "@/lib/db/connect";
import { databaseUrlFor } from "../helpers/database";
import { tinyRandomModel } from "../helpers/engine";
import { startServer, type RunningServer } from "../helpers/server";

// Two app instances on two ports, one database, one upload directory and one
// auth secret, no proxy in front: what one instance starts the other
// continues, limits count across both, and when one is killed mid-answer
// the other closes that answer once the dead one's lease has expired.
// Under `npm run test:integration:pg` both share a PostgreSQL database.
// The random-weight pair writes until its answer budget (8000 tokens here),
// so answers last long enough to be killed, deleted and watched mid-way.

/** Short, so the test waits seconds, not the default 20 s. */
const LEASE_MS = 6000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const deltas = (all: Chunk[]) => all.filter((c) => c.type === "text-delta").length;

type Saved = SavedMessage;

describe("two instances on one database and one upload directory", () => {
  const shared = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-two-shared-"));
  const dataDirs = [fs.mkdtempSync(path.join(os.tmpdir(), "lvc-two-a-")), fs.mkdtempSync(path.join(os.tmpdir(), "lvc-two-b-"))];
  let databaseUrl: string;
  let a: RunningServer;
  let b: RunningServer;
  let aKilled = false;
  let db: PrismaClient;
  let imageTokens = 0;

  beforeAll(async () => {
    const pair = await tinyRandomModel();
    imageTokens = pair.imageTokens;
    // One database for both (SQLite: a file in the shared folder; PostgreSQL runs: a database of its own).
    databaseUrl = await databaseUrlFor(shared);
    const env = {
      DATABASE_URL: databaseUrl,
      UPLOAD_DIR: path.join(shared, "uploads"),
      // Both must sign and read the same session tokens (unset, each would generate its own in its DATA_DIR).
      AUTH_SECRET: randomBytes(32).toString("base64url"),
      TRUST_PROXY: "true",
      SIGNUP_LIMIT_PER_IP: "3",
      INSTANCE_LEASE_MS: String(LEASE_MS),
      MODEL_PATH: pair.model.path,
      MMPROJ_PATH: pair.model.vision!.mmprojPath,
      // Long answers: B's must still be running well after A's is closed.
      CONTEXT_SIZE: "16384",
      MAX_ANSWER_TOKENS: "8000",
      IMAGE_INDEXER: "false",
    };
    // One after the other: the first applies the migrations and builds if needed.
    a = await startServer({ dataDir: dataDirs[0]!, env });
    b = await startServer({ dataDir: dataDirs[1]!, env });
    db = connectDatabase(databaseUrl);
  });
  afterAll(async () => {
    await b?.stop();
    if (!aKilled) await a?.stop();
    await db?.$disconnect();
    for (const dir of [shared, ...dataDirs]) fs.rmSync(dir, { recursive: true, force: true });
  });

  const conversation = async (client: TestClient, id: string) =>
    ((await (await client.fetch(`/api/conversations/${id}`)).json()) as { conversation: { messages: Saved[] } }).conversation.messages;
  const slotsBusy = async (server: RunningServer) =>
    ((await (await fetch(`${server.url}/api/health`)).json()) as { model: { slotsBusy: number } }).model.slotsBusy;
  const shortConversation = async (client: TestClient) => {
    const res = await client.fetch("/api/conversations", { method: "POST", json: { settings: { maxTokens: 8 } } });
    return ((await res.json()) as { conversation: { id: string } }).conversation.id;
  };

  /** The instance id a server printed at start. */
  const instanceIdOf = (server: RunningServer) => /\[instance\] (\S+) holds a lease/.exec(server.output())![1]!;

  it("each holds a lease in the database", async () => {
    for (const server of [a, b]) {
      const lease = await db.appInstance.findUniqueOrThrow({ where: { id: instanceIdOf(server) } });
      expect(lease.expiresAt.getTime()).toBeGreaterThan(Date.now());
    }
  });

  it("continues on one instance a conversation with an image started on the other: history and image", async () => {
    const alice = new TestClient(a.url);
    await alice.newAccount();
    const imageUrl = await uploadFixture(alice, "red-circle.png", "image/png");
    const id = await shortConversation(alice);
    const first = await chat(alice, { id, message: userMessage("What is in this picture?", [imageUrl]) });
    expect(first.chunks.at(-1)?.type).toBe("finish");

    // The same session, sent to the other instance (same AUTH_SECRET).
    const onB = alice.copy(b.url);
    const seen = await conversation(onB, id);
    expect(seen.map((m) => [m.role, m.status])).toEqual([
      ["user", "complete"],
      ["assistant", "complete"],
    ]);
    expect(seen[1]!.parts[0]!.text).toBe(first.text);
    // The image file is in the shared directory.
    const [fromA, fromB] = await Promise.all([alice.fetch(imageUrl), onB.fetch(imageUrl)]);
    expect(fromB.status).toBe(200);
    expect(Buffer.from(await fromB.arrayBuffer())).toEqual(Buffer.from(await fromA.arrayBuffer()));

    const second = await chat(onB, { id, message: userMessage("And what colour is it?") });
    expect(second.chunks.at(-1)?.type).toBe("finish");
    const all = await conversation(alice, id);
    expect(all.map((m) => [m.role, m.status])).toEqual([
      ["user", "complete"],
      ["assistant", "complete"],
      ["user", "complete"],
      ["assistant", "complete"],
    ]);
    // B's prompt held the whole history, the image's tokens included (B had no cached state for it).
    expect(all[3]!.promptTokens!).toBeGreaterThan(all[1]!.promptTokens! + 4);
    expect(all[3]!.promptTokens!).toBeGreaterThan(imageTokens);
    expect(all[3]!.parts[0]!.text).toBe(second.text);
  });

  it("shares the sign-up limit: what one instance counted, the other refuses", async () => {
    const ip = `10.77.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
    const on = (server: RunningServer) => new TestClient(server.url, ip);
    const email = () => `shared-${randomBytes(6).toString("hex")}@example.test`;
    expect((await on(a).signUp(email(), "correct horse battery")).status).toBe(201);
    expect((await on(b).signUp(email(), "correct horse battery")).status).toBe(201);
    expect((await on(a).signUp(email(), "correct horse battery")).status).toBe(201);
    // SIGNUP_LIMIT_PER_IP = 3, counted once for both.
    for (const server of [b, a]) {
      const refused = await on(server).signUp(email(), "correct horse battery");
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    }
  });

  it("stops an answer written by one instance when the conversation is deleted through the other", async () => {
    const carol = new TestClient(a.url);
    await carol.newAccount();
    const id = await newConversation(carol);
    let deletedAt = 0;
    const streaming = chat(carol, { id, message: userMessage("Hello") }, {
      onChunk: (_c, all) => {
        if (deltas(all) === 5 && !deletedAt) {
          deletedAt = Date.now();
          void carol.copy(b.url).fetch(`/api/conversations/${id}`, { method: "DELETE" });
        }
      },
    });
    const r = await streaming;
    expect(deletedAt).toBeGreaterThan(0);
    // A finds out at its next save of the partial text (every 1.5 s).
    expect(r.chunks.at(-1)).toMatchObject({ type: "error", errorText: expect.stringMatching(/deleted/) });
    expect(Date.now() - deletedAt).toBeLessThan(5000);
    expect(deltas(r.chunks)).toBeLessThan(8000);
    for (let i = 0; (await slotsBusy(a)) !== 0; i++) {
      expect(i).toBeLessThan(20);
      await sleep(100);
    }
    expect((await carol.fetch(`/api/conversations/${id}`)).status).toBe(404);
  });

  it("kill -9 of one instance mid-answer: the other closes that answer as stopped, with its text, within the lease; its own answer goes on", async () => {
    const dave = new TestClient(a.url);
    await dave.newAccount();
    const daveOnB = dave.copy(b.url);
    const onA = await newConversation(dave);
    const onB = await newConversation(daveOnB);

    let firstDeltaOnA = 0;
    const streamA = chat(dave, { id: onA, message: userMessage("Hello") }, {
      onChunk: (c) => void (c.type === "text-delta" && !firstDeltaOnA && (firstDeltaOnA = Date.now())),
    }).catch((err: Error) => ({ error: err }));
    // Past one save of the partial text on A (every 1.5 s)...
    while (!firstDeltaOnA || Date.now() - firstDeltaOnA < 2500) await sleep(50);
    // ...and B writing its own answer.
    const chunksB: Chunk[] = [];
    const streamBController = new AbortController();
    const streamB = chat(daveOnB, { id: onB, message: userMessage("Hello") }, {
      onChunk: (c, all) => {
        chunksB.splice(0, chunksB.length, ...all);
        return streamBController.signal.aborted;
      },
    });
    while (deltas(chunksB) < 5) await sleep(20);
    const partial = (await conversation(dave, onA))[1]!.parts[0]!.text!;
    expect(partial.length).toBeGreaterThan(0);

    const killedAt = Date.now();
    a.signal("SIGKILL");
    aKilled = true;
    await a.exited;
    const cut = await streamA;
    expect("error" in cut || cut.chunks.at(-1)?.type !== "finish").toBe(true);

    // B closes the answer at its next renewal: A ran on this machine and its pid is gone (on another
    // machine B would wait for A's lease to expire, at most LEASE_MS after A's last renewal).
    let answer: Saved;
    for (;;) {
      answer = (await conversation(daveOnB, onA))[1]!;
      if (answer.status !== "streaming") break;
      expect(Date.now() - killedAt).toBeLessThan(LEASE_MS + LEASE_MS / 4 + 3000);
      await sleep(200);
    }
    const closedAfter = Date.now() - killedAt;
    expect(answer).toMatchObject({ status: "stopped", error: ORPHANED_ANSWER_ERROR });
    const saved = answer.parts[0]!.text!;
    expect(saved.startsWith(partial)).toBe(true);
    expect(saved.length).toBeGreaterThan(0);
    expect(b.output()).toMatch(/closed 1 answer\(s\) interrupted when an instance stopped/);

    // B's own answer was never touched, and is still being written.
    const bDeltas = deltas(chunksB);
    const mine = (await conversation(daveOnB, onB))[1]!;
    expect(mine.status).toBe("streaming");
    await sleep(500);
    expect(deltas(chunksB)).toBeGreaterThan(bDeltas);
    // Stop (a reader leaving no longer stops an answer: issue 24's resumable answers).
    expect((await daveOnB.fetch(`/api/chat/${onB}/stop`, { method: "POST" })).status).toBe(200);
    streamBController.abort();
    await streamB;
    for (let i = 0; (await conversation(daveOnB, onB))[1]!.status === "streaming"; i++) {
      expect(i).toBeLessThan(30);
      await sleep(100);
    }
    const stoppedOnB = (await conversation(daveOnB, onB))[1]!;
    expect(stoppedOnB).toMatchObject({ status: "stopped", finishReason: "aborted", error: null });
    // A's lease was removed by B; B's is there.
    expect(await db.appInstance.findUnique({ where: { id: instanceIdOf(a) } })).toBeNull();
    expect(await db.appInstance.findUnique({ where: { id: instanceIdOf(b) } })).not.toBeNull();
    console.log(`[two-instances] answer of the killed instance closed ${closedAfter} ms after kill -9 (lease ${LEASE_MS} ms)`);
  });

  it("removes its lease on a clean shutdown", async () => {
    const id = instanceIdOf(b);
    await b.stop();
    expect(await b.exited).toBe(0);
    expect(await db.appInstance.findUnique({ where: { id } })).toBeNull();
  });
});
