import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chat, newConversation, userMessage, type SavedMessage } from "../helpers/chat";
import { TestClient } from "../helpers/client";
import { llamaServerBinary, tinyRandomModel } from "../helpers/engine";
import { startServer, type RunningServer } from "../helpers/server";

// ENGINE=auto on a machine with no llama-server built (an empty
// LLAMA_CPP_DIR): the app serves in-process at once and "builds" in the
// background — a stand-in (tests/helpers/fake-engine-build.mjs) that
// reports progress and then copies the llama-server `npm run engine:build`
// built for this suite — and hands over without a restart while an answer
// streams. What this proves: the app's side (progress in /api/health, the
// wait for running answers, the hand-over in the same process, the
// conversation continuing). It does not time or test the real build.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("llama-server speed by itself", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-upgrade-"));
  const cppDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-upgrade-cpp-"));
  const go = path.join(cppDir, "go");
  let server: RunningServer;
  let client: TestClient;

  beforeAll(async () => {
    const real = path.dirname(llamaServerBinary().binary);
    const { model } = await tinyRandomModel();
    server = await startServer({
      dataDir,
      env: {
        ENGINE: "auto",
        LLAMA_CPP_DIR: cppDir,
        ENGINE_BUILD_COMMAND: `"${process.execPath}" tests/helpers/fake-engine-build.mjs`,
        FAKE_BUILD_FROM: real,
        FAKE_BUILD_GO: go,
        MODEL_PATH: model.path,
        MMPROJ_PATH: model.vision!.mmprojPath,
        CONTEXT_SIZE: "16384",
        MAX_ANSWER_TOKENS: "2000",
      },
    });
    client = new TestClient(server.url);
    await client.newAccount();
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(cppDir, { recursive: true, force: true });
  });

  const health = async () => (await (await fetch(`${server.url}/api/health`)).json()).model;

  it("serves in-process while building, then hands over to llama-server mid-answer without a restart", async () => {
    let h = await health();
    for (let i = 0; i < 600 && h.status !== "ready"; i++, h = await health()) await sleep(100);
    expect(h.engine).toMatchObject({ kind: "in-process", upgrade: { state: "building" } });
    for (let i = 0; i < 100 && !(h.engine.upgrade.percent > 0); i++, h = await health()) await sleep(100);
    expect(h.engine.upgrade.percent).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(cppDir, "bin", "llama-server"))).toBe(false);

    // A conversation before the hand-over, and an answer streaming through it.
    const id = await newConversation(client);
    const first = await chat(client, { id, message: userMessage("Hello") });
    expect(first.status).toBe(200);
    let streamed = false;
    const streaming = chat(client, { id, message: userMessage("And now a long answer") }).finally(() => (streamed = true));
    for (let i = 0; i < 200 && (await health()).slotsBusy === 0; i++) await sleep(20);
    fs.writeFileSync(go, "");
    const seen: string[] = [];
    for (let i = 0; i < 600; i++) {
      h = await health();
      seen.push(`${h.status}/${h.engine?.upgrade?.state}/${streamed ? "answered" : "answering"}`);
      if (h.status === "ready" && h.engine.kind === "llama-server") break;
      await sleep(100);
    }
    const during = await streaming;
    expect(during.status).toBe(200);
    expect(during.chunks.some((c) => c.type === "error")).toBe(false);
    // The hand-over began while the answer was being written (new turns wait on it meanwhile).
    expect(seen.find((s) => s.includes("/handing-over/"))).toMatch(/answering$/);
    expect(h.engine).toMatchObject({ kind: "llama-server", upgrade: { state: "done" } });

    // The answer that was streaming finished whole, on the old engine.
    const messages = ((await (await client.fetch(`/api/conversations/${id}`)).json()) as { conversation: { messages: SavedMessage[] } }).conversation.messages;
    const answers = messages.filter((m) => m.role === "assistant");
    expect(answers.map((m) => [m.status, m.finishReason])).toEqual([
      ["complete", expect.any(String)],
      ["complete", "length"],
    ]);
    // The conversation goes on, on llama-server.
    const after = await chat(client, { id, message: userMessage("Still there?") });
    expect(after.status).toBe(200);
    expect(after.text.length).toBeGreaterThan(0);
    // One app process all along: it never exited, and loaded in-process once and llama-server once.
    expect(await Promise.race([server.exited.then(() => "exited"), sleep(10).then(() => "running")])).toBe("running");
    expect(server.output().match(/\[engine\] ready: in-process/g)).toHaveLength(1);
    expect(server.output().match(/\[engine\] ready: llama-server/g)).toHaveLength(1);
  }, 300_000);
});
