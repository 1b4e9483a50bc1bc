import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import { TestClient } from "../helpers/client";
import { startServer, type RunningServer } from "../helpers/server";
import { singleShapeSvg, SHAPES } from "../helpers/shape-scenes";

// The indexing queue lives in the database: a server stopped in the middle
// of it leaves the rest pending, and the next server on the same data
// directory finishes the job without redoing what was done.

const IMAGES = 6;
const PASSWORD = "correct horse battery";

describe("image indexing across a restart", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-images-restart-"));
  let server: RunningServer | undefined;
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const status = async (client: TestClient) => (await (await client.fetch("/api/images/status")).json()) as { total: number; indexed: number };

  it("resumes the back-fill where the stopped server left it", async () => {
    // A slow indexer (one image every 2 s) so the stop lands mid-queue; no model, no captions.
    const quiet = { ENGINE_PRELOAD: "false", IMAGE_CAPTIONS: "false", TRUST_PROXY: "true" };
    server = await startServer({ dataDir, env: { ...quiet, IMAGE_INDEX_PAUSE_MS: "2000" } });
    const alice = new TestClient(server.url);
    const email = await alice.newAccount(PASSWORD);
    for (let i = 0; i < IMAGES; i++) {
      const png = await sharp(Buffer.from(singleShapeSvg(["red", "green", "blue"][i % 3]!, SHAPES[i % 3]!, 64 + 8 * i))).png().toBuffer();
      const res = await alice.fetch("/api/uploads", { method: "POST", body: new Uint8Array(png) });
      expect(res.status).toBe(201);
    }
    const deadline = Date.now() + 60_000;
    while ((await status(alice)).indexed < 1) {
      if (Date.now() > deadline) throw new Error("nothing was indexed");
      await new Promise((r) => setTimeout(r, 200));
    }
    await server.stop();

    // The second server is slow too: at full speed it can finish the queue before the test
    // has signed in (CI saw all 6 indexed at the first look), and then nothing shows it resumed.
    server = await startServer({ dataDir, env: { ...quiet, IMAGE_INDEX_PAUSE_MS: "2000" } });
    const again = new TestClient(server.url);
    await again.signIn(email, PASSWORD);
    const before = await status(again);
    expect(before.total).toBe(IMAGES);
    expect(before.indexed).toBeGreaterThanOrEqual(1);
    expect(before.indexed).toBeLessThan(IMAGES);
    const until = Date.now() + 60_000;
    while ((await status(again)).indexed < IMAGES) {
      if (Date.now() > until) throw new Error(`stuck at ${JSON.stringify(await status(again))}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(server.output()).toMatch(/\[images\] indexer started/);
  });
});
