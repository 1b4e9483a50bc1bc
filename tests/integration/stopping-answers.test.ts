import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isRunning } from "@/lib/engine/llama-server/supervisor";
import { chat, newConversation, userMessage, type Chunk } from "../helpers/chat";
import { TestClient } from "../helpers/client";
import { queryTestDatabase } from "../helpers/database";
import { tinyRandomModel } from "../helpers/engine";
import { startServer, type RunningServer } from "../helpers/server";

// Answers the server itself stops: the conversation is deleted mid-answer,
// or the server gets SIGTERM mid-answer. The random-weight pair writes until
// its answer budget, here 7000 tokens (seconds even on a fast machine), so
// both always land mid-answer.

/** Tokens the random model writes when nothing stops it. */
const BUDGET = 7000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const deltas = (all: Chunk[]) => all.filter((c) => c.type === "text-delta").length;

interface Saved {
  role: string;
  status: string;
  error: string | null;
  parts: { type: string; text?: string }[];
}

for (const engine of ["in-process", "llama-server"] as const) describe(`answers stopped by the server (ENGINE=${engine})`, () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-stop-"));
  const pidFile = path.join(dataDir, "cache", "llama-server", "llama-server.pid");
  let env: Record<string, string>;
  let server: RunningServer;
  let client: TestClient;
  beforeAll(async () => {
    const { model } = await tinyRandomModel();
    env = {
      ENGINE: engine,
      MODEL_PATH: model.path,
      MMPROJ_PATH: model.vision!.mmprojPath,
      CONTEXT_SIZE: "8192",
      MAX_ANSWER_TOKENS: String(BUDGET),
      TRUST_PROXY: "true",
      SHUTDOWN_TIMEOUT_MS: "10000",
    };
    server = await startServer({ dataDir, env });
    client = new TestClient(server.url);
    await client.newAccount();
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const slotsBusy = async () => ((await (await fetch(`${server.url}/api/health`)).json()) as { model: { slotsBusy: number } }).model.slotsBusy;

  it("deleting the conversation mid-answer frees the slot at once and re-creates nothing", async () => {
    const id = await newConversation(client);
    let deleted: Promise<Response> | undefined;
    let seen = 0;
    const streaming = chat(client, { id, message: userMessage("Hello") }, {
      onChunk: (_c, all) => {
        seen = deltas(all);
        if (seen === 5) deleted = client.fetch(`/api/conversations/${id}`, { method: "DELETE" });
      },
    });
    while (!deleted) await sleep(10);
    expect((await deleted).status).toBe(204);
    const gone = Date.now();
    const atGone = seen;
    while ((await slotsBusy()) !== 0) {
      expect(Date.now() - gone).toBeLessThan(1000);
      await sleep(50);
    }
    // The stream ended early, saying why. The model writes on while the
    // DELETE is on its way and being served (on a loaded machine, thousands
    // of tokens: CI saw 3190), so the bound is on what came after its reply.
    const r = await streaming;
    expect(deltas(r.chunks)).toBeGreaterThanOrEqual(5);
    expect(deltas(r.chunks)).toBeLessThan(BUDGET);
    expect(deltas(r.chunks) - atGone).toBeLessThan(BUDGET / 4);
    expect(r.chunks.at(-1)).toMatchObject({ type: "error", errorText: expect.stringMatching(/deleted/) });

    // Past the answer's periodic flush (1.5 s): nothing came back.
    await sleep(2000);
    expect((await client.fetch(`/api/conversations/${id}`)).status).toBe(404);
    // The database itself, to see rows the API would hide.
    expect(await queryTestDatabase(dataDir, 'SELECT CAST(count(*) AS INTEGER) AS n FROM "Message" WHERE "conversationId" = ?', [id])).toEqual([{ n: 0 }]);
    expect(await queryTestDatabase(dataDir, 'SELECT CAST(count(*) AS INTEGER) AS n FROM "Conversation" WHERE "id" = ?', [id])).toEqual([{ n: 0 }]);
  });

  it("SIGTERM mid-answer ends the client's stream with an error, exits 0 in time, and saves the answer as stopped", async () => {
    const id = await newConversation(client);
    // The supervised llama-server ("<server pid> <app pid>"), which must go too.
    const llamaServerPid = engine === "llama-server" ? Number(fs.readFileSync(pidFile, "utf8").split(" ")[0]) : 0;
    let signalledAt = 0;
    const r = await chat(client, { id, message: userMessage("Hello") }, {
      onChunk: (_c, all) => {
        if (deltas(all) === 5) {
          signalledAt = Date.now();
          server.signal("SIGTERM");
        }
      },
    });
    expect(signalledAt).toBeGreaterThan(0);
    expect(r.chunks.at(-1)).toMatchObject({ type: "error", errorText: expect.stringMatching(/shutting down/) });
    expect(await server.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(10_000);
    if (llamaServerPid) {
      expect(isRunning(llamaServerPid)).toBe(false);
      expect(fs.existsSync(pidFile)).toBe(false);
    }

    server = await startServer({ dataDir, env });
    client = client.copy(server.url);
    const res = await client.fetch(`/api/conversations/${id}`);
    const answer = ((await res.json()) as { conversation: { messages: Saved[] } }).conversation.messages[1]!;
    expect(answer.status).toBe("stopped");
    const text = answer.parts[0]!.text!;
    expect(text.length).toBeGreaterThan(0);
    expect(text.startsWith(r.text)).toBe(true);
    // Closed by the shutdown itself, not by the next start's orphan cleanup.
    expect(answer.error).toMatch(/shutting down/);
    expect(server.output()).not.toMatch(/interrupted when an instance stopped/);
  });
});
