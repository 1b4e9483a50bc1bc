import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isRunning } from "@/lib/engine/llama-server/supervisor";
import { TestClient } from "../helpers/client";
import { tinyRandomModel } from "../helpers/engine";
import { startServer, type RunningServer } from "../helpers/server";

// The app on a supervised llama-server (ENGINE=llama-server), through its
// real routes and SQLite: an image question, a follow-up that reuses the
// cache, llama-server killed mid-answer, and the app itself killed. The
// random-weight pair writes until its answer budget, so kills always land
// mid-answer.

const fixture = (name: string) => fs.readFileSync(path.resolve(import.meta.dirname, "..", "fixtures", name));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Saved {
  role: string;
  status: string;
  error: string | null;
  parts: { type: string; text?: string }[];
  promptTokens: number | null;
  reusedTokens: number | null;
}

/** The server's pid from the supervisor's pid file ("<server pid> <app pid>"). */
const serverPid = (file: string) => Number(fs.readFileSync(file, "utf8").split(" ")[0]);


describe("the app on a supervised llama-server", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-ls-app-"));
  const pidFile = path.join(dataDir, "cache", "llama-server", "llama-server.pid");
  let server: RunningServer;
  let client: TestClient;
  let conversationId: string;
  let imageUrl: string;

  beforeAll(async () => {
    const { model } = await tinyRandomModel();
    server = await startServer({
      dataDir,
      env: { ENGINE: "llama-server", MODEL_PATH: model.path, MMPROJ_PATH: model.vision!.mmprojPath, PARALLEL_SLOTS: "2", MAX_ANSWER_TOKENS: "1500" },
    });
    client = new TestClient(server.url);
    await client.newAccount();
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(fixture("red-circle.png"))], { type: "image/png" }), "red-circle.png");
    imageUrl = ((await (await client.fetch("/api/uploads", { method: "POST", body: form })).json()) as { attachment: { url: string } }).attachment.url;
    conversationId = ((await (await client.fetch("/api/conversations", { method: "POST", json: {} })).json()) as { conversation: { id: string } }).conversation.id;
    for (let i = 0; i < 600 && (await health()).status !== "ready"; i++) await sleep(100);
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const health = async () => (await (await fetch(`${server.url}/api/health`)).json()).model;
  const messages = async () =>
    ((await (await client.fetch(`/api/conversations/${conversationId}`)).json()) as { conversation: { messages: Saved[] } }).conversation.messages;

  /** Posts a turn and reads the stream to its end. */
  async function ask(text: string, images: string[] = []): Promise<string> {
    const res = await client.fetch("/api/chat", {
      method: "POST",
      json: { id: conversationId, message: { role: "user", parts: [...images.map((url) => ({ type: "file", mediaType: "image/png", url })), { type: "text", text }] } },
    });
    expect(res.status).toBe(200);
    return res.text();
  }

  it("reports the engine it runs and why", async () => {
    const h = await health();
    expect(h.status).toBe("ready");
    expect(h.engine).toEqual({ kind: "llama-server", reason: expect.stringContaining("ENGINE=llama-server") });
    expect(h.backend.backend).toBe("llama-server");
    expect(h.servers).toEqual({ up: 1, total: 1 });
    expect(JSON.stringify(h)).not.toMatch(/127\.0\.0\.1/);
  });

  it("answers an image question, and the follow-up reuses the cached prompt, image included", async () => {
    await ask("What is in this picture?", [imageUrl]);
    await ask("And what colour is it?");
    const [, first, , second] = await messages();
    expect(first).toMatchObject({ role: "assistant", status: "complete" });
    expect(first!.parts[0]!.text!.length).toBeGreaterThan(0);
    expect(second).toMatchObject({ role: "assistant", status: "complete" });
    // Turn 1's prompt (with the image's tokens) is all reused in turn 2.
    expect(second!.reusedTokens!).toBeGreaterThanOrEqual(first!.promptTokens!);
  });

  it("saves an answer cut by kill -9 of llama-server as an error, restarts it, and answers the next question", async () => {
    const pid = serverPid(pidFile);
    expect(isRunning(pid)).toBe(true);
    const res = await client.fetch("/api/chat", {
      method: "POST",
      json: { id: conversationId, message: { role: "user", parts: [{ type: "text", text: "Keep talking." }] } },
    });
    const reader = res.body!.getReader();
    let seen = "";
    while (!seen.includes('"text-delta"')) seen += new TextDecoder().decode((await reader.read()).value);
    process.kill(pid, "SIGKILL");
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    expect(seen).toMatch(/"type":"error"/);
    const saved = (await messages()).at(-1)!;
    expect(saved.status).toBe("error");
    expect(saved.error).toMatch(/model server stopped while answering/);

    for (let i = 0; i < 100 && (await health()).servers?.up !== 1; i++) await sleep(100);
    await ask("Are you back?");
    expect((await messages()).at(-1)).toMatchObject({ status: "complete" });
    const newPid = serverPid(pidFile);
    expect(newPid).not.toBe(pid);
  });

  it("leaves no llama-server running when the app is killed", async () => {
    const pid = serverPid(pidFile);
    // The app's web server process is llama-server's parent (setpriv execs in place).
    const parent = Number(fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
    expect(fs.readFileSync(`/proc/${parent}/cmdline`, "utf8")).toMatch(/node/);
    process.kill(parent, "SIGKILL");
    for (let i = 0; i < 50 && isRunning(pid); i++) await sleep(100);
    expect(isRunning(pid)).toBe(false);
  });
});
