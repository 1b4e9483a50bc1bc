import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSseJson } from "../../lib/engine/sse";
import { TestClient } from "../helpers/client";
import { newConversation } from "../helpers/chat";
import { tinyRandomModel } from "../helpers/engine";
import { startServer, type RunningServer } from "../helpers/server";
import { singleShapeSvg, SHAPES } from "../helpers/shape-scenes";

// CLIP runs on the server's CPU, so images uploaded while an answer is being
// written are embedded after it, not beside it. The random-weight tiny pair
// writes until its answer budget, so the answer lasts long enough to look.

const IMAGES = 3;

describe("image embeddings wait for answers", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-embed-waits-"));
  let server: RunningServer;
  let client: TestClient;
  beforeAll(async () => {
    const { model } = await tinyRandomModel();
    server = await startServer({
      dataDir,
      env: { MODEL_PATH: model.path, MMPROJ_PATH: model.vision!.mmprojPath, CONTEXT_SIZE: "32768", MAX_ANSWER_TOKENS: "30000", IMAGE_CAPTIONS: "false" },
    });
    client = new TestClient(server.url);
    await client.newAccount();
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const status = async () => (await (await client.fetch("/api/images/status")).json()) as { total: number; indexed: number };

  const upload = async (i: number) => {
    const png = await sharp(Buffer.from(singleShapeSvg(["red", "green", "blue", "red"][i]!, SHAPES[i % 3]!, 96 + i))).png().toBuffer();
    const up = await client.fetch("/api/uploads", { method: "POST", body: new Uint8Array(png) });
    expect(up.status).toBe(201);
  };

  it("embeds images uploaded mid-answer once the answer is done", async () => {
    // First, proof that the indexer and CLIP are up: an image uploaded while idle is embedded.
    await upload(IMAGES);
    const ready = Date.now() + 60_000;
    while ((await status()).indexed < 1) {
      if (Date.now() > ready) throw new Error(`the indexer never embedded the first image: ${JSON.stringify(await status())}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const id = await newConversation(client);
    const controller = new AbortController();
    const res = await client.fetch("/api/chat", { method: "POST", json: { id, message: { role: "user", parts: [{ type: "text", text: "Hello" }] } }, signal: controller.signal });
    expect(res.status).toBe(200);
    const looks: { total: number; indexed: number }[] = [];
    let tokens = 0;
    let answerDone = false;
    let endedAt = 0;
    const watching = (async () => {
      try {
        for await (const chunk of readSseJson<{ type: string }>(res.body!)) {
          if (chunk.type === "text-delta") tokens++;
        }
      } catch (err) {
        if ((err as Error).name !== "AbortError") throw err;
      }
      answerDone = true;
      endedAt = Date.now();
    })();
    while (tokens === 0) await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < IMAGES; i++) await upload(i);
    // Long enough for several indexer rounds (they run every 0.5 s when idle).
    const lookUntil = Date.now() + 2_000;
    while (Date.now() < lookUntil && !answerDone) {
      looks.push(await status());
      await new Promise((r) => setTimeout(r, 250));
    }
    // The answer outlasted the looks, or the check below says nothing.
    expect(answerDone).toBe(false);
    expect(looks.length).toBeGreaterThanOrEqual(4);
    for (const look of looks) expect(look.total).toBe(IMAGES + 1);
    // Only the one embedded before the answer.
    expect(Math.max(...looks.map((l) => l.indexed))).toBe(1);

    // Stop the answer as the Stop button does (a dropped request alone no longer stops it: answers are resumable);
    // the images are embedded right after.
    expect((await client.fetch(`/api/chat/${id}/stop`, { method: "POST" })).status).toBe(200);
    await watching;
    controller.abort();
    const deadline = Date.now() + 20_000;
    while ((await status()).indexed < IMAGES + 1) {
      if (Date.now() > deadline) throw new Error(`not embedded after the answer: ${JSON.stringify(await status())}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    console.log(`[embed-waits] ${tokens} tokens streamed; ${looks.length} looks mid-answer saw none of the ${IMAGES} new ones embedded; all ${IMAGES} within ${Date.now() - endedAt} ms of the answer's end`);
  });
});
