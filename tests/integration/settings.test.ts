import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chat, newConversation, uploadFixture, userMessage } from "../helpers/chat";
import { TestClient } from "../helpers/client";
import { startServer, type RunningServer } from "../helpers/server";

// A conversation's system prompt and sampling settings, seen from the engine's
// side: the app runs the demo model on a supervised llama-server, which (with
// LLAMA_SERVER_SLOTS_DEBUG) reports the prompt and parameters of each slot's
// last request on /slots. The test reads that server's port and key from
// /proc, as only a process of the same user can.

interface Slot {
  prompt?: string;
  params: { temperature: number; top_p: number; seed: number; n_predict: number };
}

/** The supervised llama-server's own /slots report. */
async function engineSlots(dataDir: string): Promise<Slot[]> {
  const pid = fs.readFileSync(path.join(dataDir, "cache", "llama-server", "llama-server.pid"), "utf8").split(" ")[0];
  const args = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  const port = args[args.indexOf("--port") + 1];
  const key = /(?:^|\0)LLAMA_API_KEY=([^\0]*)/.exec(fs.readFileSync(`/proc/${pid}/environ`, "utf8"))![1];
  const res = await fetch(`http://127.0.0.1:${port}/slots`, { headers: { authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as Slot[];
}

describe("conversation settings reach the engine", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-settings-"));
  let server: RunningServer;
  let client: TestClient;
  beforeAll(async () => {
    server = await startServer({ dataDir, env: { ENGINE: "llama-server", LLAMA_SERVER_SLOTS_DEBUG: "1", CONTEXT_SIZE: "2048", MAX_ANSWER_TOKENS: "256" } });
    client = new TestClient(server.url);
    await client.newAccount();
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const patch = (id: string, json: unknown) => client.fetch(`/api/conversations/${id}`, { method: "PATCH", json });

  it("renders the system prompt into the prompt and passes temperature, top-p, seed and the answer length", async () => {
    const id = await newConversation(client);
    const set = await patch(id, { systemPrompt: "You describe shapes for a colour-blind reader.", settings: { temperature: 0.5, topP: 0.8, maxTokens: 3, seed: 1234 } });
    expect(set.status).toBe(200);
    const image = await uploadFixture(client, "red-circle.png", "image/png");
    const r = await chat(client, { id, message: userMessage("What color is the circle?", [image]) });
    expect(r.status).toBe(200);

    const slot = (await engineSlots(dataDir)).find((s) => s.prompt?.includes("colour-blind reader"));
    expect(slot, "a slot whose last prompt holds the system prompt").toBeDefined();
    // The system prompt comes first, then the question, in the model's chat template.
    expect(slot!.prompt!.indexOf("colour-blind reader")).toBeLessThan(slot!.prompt!.indexOf("What color is the circle?"));
    expect(slot!.params).toMatchObject({ temperature: 0.5, seed: 1234, n_predict: 3 });
    expect(slot!.params.top_p).toBeCloseTo(0.8, 5);

    // Three tokens, then the answer says it was cut off.
    const finish = r.chunks.find((c) => c.type === "finish");
    expect(finish?.messageMetadata).toMatchObject({ finishReason: "length", stats: { completionTokens: 3 } });
    const saved = (await (await client.fetch(`/api/conversations/${id}/messages`)).json()) as { messages: { metadata: { finishReason: string } }[] };
    expect(saved.messages[1]!.metadata.finishReason).toBe("length");
  });

  it("goes back to the defaults (greedy, the server's answer length) when the settings are cleared", async () => {
    const id = await newConversation(client);
    await patch(id, { settings: { temperature: 1.2, seed: 7 } });
    await patch(id, { settings: null, systemPrompt: "Defaults check." });
    await chat(client, { id, message: userMessage("How many shapes are there?") });
    const slot = (await engineSlots(dataDir)).find((s) => s.prompt?.includes("Defaults check."));
    expect(slot!.params).toMatchObject({ temperature: 0, n_predict: 256 });
  });

  it("refuses settings that are out of range, and a system prompt that cannot fit, when they are set", async () => {
    const id = await newConversation(client);
    for (const settings of [{ temperature: 3 }, { topP: 0 }, { maxTokens: 0 }, { seed: -1 }, { temperature: "hot" }, { mirostat: 2 }]) {
      const res = await patch(id, { settings });
      expect(res.status, JSON.stringify(settings)).toBe(400);
    }
    // 8,000 characters of varied words: far more than 2048 tokens of context leave after the answer budget.
    const words = Array.from({ length: 1400 }, (_, i) => `w${(i * 7919) % 10007}`).join(" ").slice(0, 8000);
    const tooLong = await patch(id, { systemPrompt: words });
    expect(tooLong.status).toBe(400);
    expect(((await tooLong.json()) as { error: { message: string } }).error.message).toMatch(/system prompt is too long/);
    const conversation = ((await (await client.fetch(`/api/conversations/${id}`)).json()) as { conversation: { systemPrompt: string | null } }).conversation;
    expect(conversation.systemPrompt).toBeNull();
    // The conversation still answers.
    expect((await chat(client, { id, message: userMessage("How many shapes are there?") })).text.length).toBeGreaterThan(0);
  });

  it("keeps presets per user, with one default", async () => {
    const post = (json: unknown) => client.fetch("/api/presets", { method: "POST", json });
    expect((await post({ name: "Brief", systemPrompt: "Be brief.", settings: { temperature: 0.2 }, isDefault: true })).status).toBe(201);
    expect((await post({ name: "Creative", settings: { temperature: 1.1 }, isDefault: true })).status).toBe(201);
    expect((await post({ name: "Bad", settings: { temperature: 9 } })).status).toBe(400);
    const { presets } = (await (await client.fetch("/api/presets")).json()) as { presets: { id: string; name: string; isDefault: boolean }[] };
    expect(presets.map((p) => [p.name, p.isDefault])).toEqual([
      ["Brief", false],
      ["Creative", true],
    ]);
    const other = new TestClient(server.url);
    await other.newAccount();
    expect(((await (await other.fetch("/api/presets")).json()) as { presets: unknown[] }).presets).toEqual([]);
    expect((await other.fetch(`/api/presets/${presets[0]!.id}`, { method: "DELETE" })).status).toBe(404);
    expect((await client.fetch(`/api/presets/${presets[0]!.id}`, { method: "DELETE" })).status).toBe(204);
  });
});
