import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ask, startMediaApp, uploadFile, type MediaApp } from "../helpers/media-app";
import { longVideo } from "../helpers/media-files";

// The decoding process's own caps: a file that takes too long or needs too
// much memory is stopped and refused, with nothing stored, and the server
// keeps answering meanwhile.

describe("decoding caps", () => {
  let app: MediaApp;
  let video: Buffer;
  beforeAll(async () => {
    // Made before the server: a pause of seconds between requests lets the server close the keep-alive socket the client reuses.
    video = longVideo(600, { size: 320 });
    app = await startMediaApp({ MEDIA_DECODE_TIMEOUT_MS: "1500", MEDIA_DECODE_MEMORY_MB: "64", UPLOAD_MAX_BYTES: String(16 * 1024 * 1024) });
  });
  afterAll(() => app?.stop());

  it("stops a file that takes longer than MEDIA_DECODE_TIMEOUT_MS, while answers go on", async () => {
    const [files, rows] = [app.storedFiles(), await app.attachmentRows()];
    const slow = uploadFile(app.client, video, "slow.mp4");
    // An answer is written while the file is being read.
    const answer = await ask(app.client, "Which shapes do you know?");
    expect(answer.answer.status).toBe("complete");
    const res = await slow;
    expect(res.status).toBe(413);
    expect(res.body.error.message).toMatch(/Reading the file took longer than the limit of 2 s/);
    expect(app.storedFiles()).toEqual(files);
    expect(await app.attachmentRows()).toBe(rows);
  });
});

describe("decoding memory cap", () => {
  let app: MediaApp;
  beforeAll(async () => {
    app = await startMediaApp({ MEDIA_DECODE_TIMEOUT_MS: "120000", MEDIA_DECODE_MEMORY_MB: "64", UPLOAD_MAX_BYTES: String(16 * 1024 * 1024) });
  });
  afterAll(() => app?.stop());

  it("stops a file that needs more memory than MEDIA_DECODE_MEMORY_MB", async () => {
    const [files, rows] = [app.storedFiles(), await app.attachmentRows()];
    const header = Array.from({ length: 40 }, (_, i) => `c${i}`).join(",");
    const line = Array.from({ length: 40 }, (_, i) => `v${i}x`).join(",");
    const csv = Buffer.from(`${header}\n${`${line}\n`.repeat(60_000)}`);
    const res = await uploadFile(app.client, csv, "wide.csv");
    expect(res.status).toBe(413);
    expect(res.body.error.message).toMatch(/needed more than the limit of 64 MiB of memory/);
    expect(app.storedFiles()).toEqual(files);
    expect(await app.attachmentRows()).toBe(rows);
  });
});
