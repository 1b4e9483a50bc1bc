import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CatalogModel } from "@/lib/engine/catalog";
import { familyById } from "@/lib/engine/families";
import { chat, newConversation, userMessage, type SavedMessage } from "../helpers/chat";
import { TestClient } from "../helpers/client";
import { familyImage, replicaModel } from "../helpers/families";
import { startServer, type RunningServer } from "../helpers/server";

// A real family through the whole app: the Qwen2.5-VL replica (dynamic
// resolution: a 2048×1536 photo costs 4017 tokens) with a per-model cap of
// 300 tokens per image. The badge data names the family, and the photo
// reaches the model as a private, downscaled copy within the cap.

describe("a Qwen2.5-VL model in the app, with a per-model image cap", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-family-app-"));
  let server: RunningServer;
  const client = () => new TestClient(server.url);
  let alice: TestClient;
  let model: CatalogModel;

  beforeAll(async () => {
    model = await replicaModel("qwen2.5-vl");
    server = await startServer({
      dataDir,
      env: { MODEL_PATH: model.path, MMPROJ_PATH: model.vision!.mmprojPath, MAX_IMAGE_TOKENS: `${model.id}=300,*=0`, CONTEXT_SIZE: "8192" },
    });
    alice = client();
    await alice.newAccount();
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("names the family and the cap, and sends a big photo downscaled to it", async () => {
    let health: { model: { status: string; model: { family: string }; backend: { maxImageTokens: number; imageCost: string } } } | undefined;
    for (let i = 0; i < 600; i++) {
      health = await (await fetch(`${server.url}/api/health`)).json();
      if (health!.model.status === "ready") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(health!.model).toMatchObject({ status: "ready", model: { family: "Qwen2.5-VL" }, backend: { maxImageTokens: 300, imageCost: "family" } });
    const models = (await (await alice.fetch("/api/models")).json()) as { models: { id: string; family: string }[]; current: string };
    expect(models.models.find((m) => m.id === models.current)?.family).toBe("Qwen2.5-VL");

    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(fs.readFileSync(await familyImage(2048, 1536)))], { type: "image/png" }), "photo.png");
    const up = await alice.fetch("/api/uploads", { method: "POST", body: form });
    expect(up.status).toBe(201);
    const { url } = ((await up.json()) as { attachment: { url: string } }).attachment;

    const id = await newConversation(alice);
    const r = await chat(alice, { id, message: userMessage("What is in this photo?", [url]) });
    expect(r.status).toBe(200);
    expect(r.chunks.some((c) => c.type === "finish")).toBe(true);
    const saved = ((await (await alice.fetch(`/api/conversations/${id}`)).json()) as { conversation: { messages: SavedMessage[] } }).conversation.messages;
    const answer = saved.find((m) => m.role === "assistant")!;
    expect(answer.status).toBe("complete");
    // The model was sent one downscaled copy of the photo (4017 tokens as it is), 4:3, within the cap.
    const fitted = fs.readdirSync(path.join(dataDir, "cache", "fitted"));
    expect(fitted).toHaveLength(1);
    const [, w, h] = /-(\d+)x(\d+)\.png$/.exec(fitted[0]!)!.map(Number);
    expect(w! / h!).toBeCloseTo(4 / 3, 1);
    expect(familyById("qwen2.5-vl").imageTokens(model.vision!.clip, w!, h!)).toBeLessThanOrEqual(300);
    expect(fs.statSync(path.join(dataDir, "cache", "fitted", fitted[0]!)).mode & 0o077).toBe(0);

    // Deleting the conversation deletes the photo, and its copy with it.
    expect((await alice.fetch(`/api/conversations/${id}`, { method: "DELETE" })).status).toBeLessThan(300);
    for (let i = 0; i < 50 && fs.readdirSync(path.join(dataDir, "cache", "fitted")).length; i++) await new Promise((r) => setTimeout(r, 100));
    expect(fs.readdirSync(path.join(dataDir, "cache", "fitted"))).toEqual([]);
  });
});
