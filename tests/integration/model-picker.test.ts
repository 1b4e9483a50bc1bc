import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chat, newConversation, userMessage } from "../helpers/chat";
import { TestClient } from "../helpers/client";
import { tinyRandomModel } from "../helpers/engine";
import { startServer, type RunningServer } from "../helpers/server";

// A catalog of two models (the demo model and a random-weight pair): the
// picker's API lists them, switches between them mid-conversation, and each
// answer records the model that wrote it.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const root = path.resolve(import.meta.dirname, "..", "..");

describe("choosing the model", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-models-"));
  const modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-models-dir-"));
  let server: RunningServer;
  let client: TestClient;
  let randomId: string;

  beforeAll(async () => {
    const { model } = await tinyRandomModel();
    randomId = model.id;
    for (const file of [path.join(root, "models", "tiny", "mini-llava-shapes.gguf"), path.join(root, "models", "tiny", "mmproj-mini-llava-shapes.gguf"), model.path, model.vision!.mmprojPath]) {
      fs.copyFileSync(file, path.join(modelsDir, path.basename(file)));
    }
    server = await startServer({ dataDir, env: { MODELS_DIR: modelsDir, CONTEXT_SIZE: "8192", MAX_ANSWER_TOKENS: "4000" } });
    // The first account administers the server (no ADMIN_EMAILS).
    client = new TestClient(server.url);
    await client.newAccount();
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(modelsDir, { recursive: true, force: true });
  });

  const health = async () => (await (await fetch(`${server.url}/api/health`)).json()).model;
  async function loaded(id: string) {
    for (let i = 0; i < 600; i++) {
      const h = await health();
      if (h.status === "ready" && h.model.id === id) return;
      await sleep(100);
    }
    throw new Error(`${id} did not load`);
  }
  const answers = async (id: string) =>
    ((await (await client.fetch(`/api/conversations/${id}/messages`)).json()) as { messages: { role: string; metadata: { model: string } }[] }).messages.filter(
      (m) => m.role === "assistant",
    );

  it("lists the catalog, switches mid-conversation, and records each answer's model", async () => {
    const list = (await (await client.fetch("/api/models")).json()) as { models: { id: string; vision: boolean }[]; current: string | null; canSwitch: boolean };
    expect(list.canSwitch).toBe(true);
    expect(list.models.map((m) => m.id).sort()).toEqual(["mini-llava-shapes", randomId].sort());
    expect(list.models.every((m) => m.vision)).toBe(true);
    await loaded("mini-llava-shapes");

    const id = await newConversation(client);
    expect((await chat(client, { id, message: userMessage("How many shapes are there?") })).text).toMatch(/shape/);
    const res = await client.fetch("/api/models", { method: "POST", json: { id: randomId } });
    expect(res.status).toBe(202);
    await loaded(randomId);
    const second = await chat(client, { id, message: userMessage("And now?") });
    expect(second.status).toBe(200);
    expect(second.chunks[0]!.messageMetadata).toMatchObject({ model: randomId });
    expect((await answers(id)).map((m) => m.metadata.model)).toEqual(["mini-llava-shapes", randomId]);
  });

  it("refuses to switch while an answer is being written, and unknown models, and strangers", async () => {
    const id = await newConversation(client);
    // The random-weight model writes until its answer budget: switch in the middle.
    const answering = chat(client, { id, message: userMessage("Hello") });
    for (let i = 0; i < 200 && (await health()).slotsBusy === 0; i++) await sleep(10);
    const refused = await client.fetch("/api/models", { method: "POST", json: { id: "mini-llava-shapes" } });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/being written/);
    expect((await answering).text.length).toBeGreaterThan(0);
    expect((await health()).model.id).toBe(randomId);

    expect((await client.fetch("/api/models", { method: "POST", json: { id: "../../etc/passwd" } })).status).toBe(404);
    const stranger = new TestClient(server.url);
    expect((await stranger.fetch("/api/models")).status).toBe(401);
    expect((await stranger.fetch("/api/models", { method: "POST", json: { id: "mini-llava-shapes" } })).status).toBe(401);
    // A second account may see the catalog but not change what everyone runs.
    await stranger.newAccount();
    expect(((await (await stranger.fetch("/api/models")).json()) as { canSwitch: boolean }).canSwitch).toBe(false);
    const denied = await stranger.fetch("/api/models", { method: "POST", json: { id: "mini-llava-shapes" } });
    expect(denied.status).toBe(403);
    expect((await health()).model.id).toBe(randomId);
  });
});
