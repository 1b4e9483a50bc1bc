import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chat } from "../helpers/chat";
import { imagesInPrompt, imageTokens, libraryFinds, partsOf, savedMessages, startMediaApp, uploadFile, type MediaApp } from "../helpers/media-app";
import { audioOnlyMp4, longVideo, shapeVideo } from "../helpers/media-files";

// Video through the real app: frames (uniform + scene changes) with their
// times reach the engine, follow-ups reuse the cached state, the image
// library finds a frame, deleting the conversation deletes the frames.

describe("video uploads", () => {
  let app: MediaApp;
  let perImage: number;
  beforeAll(async () => {
    app = await startMediaApp({ VIDEO_MAX_FRAMES: "4", MEDIA_MAX_SECONDS: "30" });
    perImage = await imageTokens(app.client);
  });
  afterAll(() => app?.stop());

  it("samples frames with their times, and every frame reaches the engine", async () => {
    const video = await shapeVideo([
      { colour: "blue", shape: "square" },
      { colour: "red", shape: "circle" },
      { colour: "green", shape: "triangle" },
      { colour: "yellow", shape: "square" },
    ]);
    const before = app.storedFiles().length;
    const up = await uploadFile(app.client, video, "shapes.mp4", "video/mp4");
    expect(up.status).toBe(201);
    expect(up.body.attachment.mediaType).toBe("video/mp4");
    const parts = await partsOf(app.client, up.body.attachment.id);
    expect(parts.info).toMatchObject({ kind: "video", durationSeconds: 4, width: 224, height: 224, frameCount: 4 });
    // The cuts at 1, 2 and 3 s are scene changes: one frame in the middle of each shot.
    expect(parts.parts.map((p) => p.label)).toEqual(["Frame 1, 0:00", "Frame 2, 0:01", "Frame 3, 0:02", "Frame 4, 0:03"]);
    expect(parts.parts.map((p) => p.time)).toEqual([0.5, 1.5, 2.5, 3.5]);
    expect(app.storedFiles().length).toBe(before + 5);

    const seen = await imagesInPrompt(app.client, { ...up.body.attachment, mediaType: "video/mp4" }, "What happens in the video?", perImage);
    expect(seen.images).toBe(4);
    expect(seen.expected).toBe(4);

    // Follow-up: the first turn (four frames) comes from the cache.
    const r = await chat(app.client, { id: seen.conversationId, message: { role: "user", parts: [{ type: "text", text: "And at the end?" }] } });
    expect(r.status).toBe(200);
    const messages = await savedMessages(app.client, seen.conversationId);
    expect(messages[3]!.reusedTokens).toBeGreaterThanOrEqual(messages[1]!.promptTokens! - 1);
    expect(messages[3]!.reusedTokens).toBeGreaterThan(4 * perImage);

    // The library finds the red circle's frame, labelled with its source and time.
    const hit = await libraryFinds(app.client, "red circle");
    expect(hit.source).toMatchObject({ id: up.body.attachment.id, mediaType: "video/mp4", label: "Frame 2, 0:01" });
    expect(hit.conversationId).toBe(seen.conversationId);

    // Deleting the conversation deletes the video, its frames and their files (the data test's chart stays).
    const files = app.storedFiles().length;
    const rows = await app.attachmentRows();
    const del = await app.client.fetch(`/api/conversations/${seen.conversationId}`, { method: "DELETE" });
    expect(del.status).toBeLessThan(300);
    expect(app.storedFiles().length).toBe(files - 5);
    expect(await app.attachmentRows()).toBe(rows - 5);
    expect((await app.client.fetch(`/api/uploads/${up.body.attachment.id}/parts`)).status).toBe(404);
  });

  it("reads WebM too", async () => {
    const up = await uploadFile(app.client, await shapeVideo([{ colour: "yellow", shape: "square" }, { colour: "purple", shape: "circle" }], { format: "webm" }), "clip.webm");
    expect(up.status).toBe(201);
    const parts = await partsOf(app.client, up.body.attachment.id);
    expect(parts.mediaType).toBe("video/webm");
    expect(parts.parts).toHaveLength(4);
  });

  it.each([
    ["a video longer than the cap", () => longVideo(45), "long.mp4", 413, /The video is 0:45 long; the limit is 0:30/],
    ["an MP4 with no video stream", () => audioOnlyMp4(), "sound.mp4", 400, /no video stream/],
    ["a truncated MP4", async () => (await shapeVideo([{ colour: "red", shape: "circle" }])).subarray(0, 600), "cut.mp4", 400, /damaged|no video stream/],
    ["a PDF named .mp4", () => Buffer.from("%PDF-1.4\n%%EOF\n"), "x.mp4", 400, /named "x.mp4" but its bytes are not an MP4\/MOV\/M4A file \(they are a PDF document\)/],
  ])("refuses %s, naming the problem, and stores nothing", async (_what, make, name, status, message) => {
    const [files, rows] = [app.storedFiles(), await app.attachmentRows()];
    const res = await uploadFile(app.client, await make(), name);
    expect(res.status).toBe(status);
    expect(res.body.error.message).toMatch(message);
    expect(app.storedFiles()).toEqual(files);
    expect(await app.attachmentRows()).toBe(rows);
  });
});
