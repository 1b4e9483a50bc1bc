import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMediaApp, uploadFile, type MediaApp } from "../helpers/media-app";
import { shapeVideo, textPdf } from "../helpers/media-files";

// POST /api/uploads through the real app, asked for progress
// (Accept: application/x-ndjson): lines of progress while the file is read,
// then the status and body the plain answer has; the plain answer unchanged.

interface Line {
  type: "progress" | "done" | "error";
  kind?: string;
  percent?: number;
  status?: number;
  attachment?: { id: string; url: string; mediaType: string };
  error?: { code: string; message: string };
}

async function uploadWithProgress(app: MediaApp, bytes: Buffer, name: string) {
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(bytes)]), name);
  const res = await app.client.fetch("/api/uploads", { method: "POST", body: form, headers: { accept: "application/x-ndjson" } });
  const text = await res.text();
  return { status: res.status, type: res.headers.get("content-type"), lines: text.trim().split("\n").map((l) => JSON.parse(l) as Line) };
}

describe("upload progress", () => {
  let app: MediaApp;
  beforeAll(async () => {
    app = await startMediaApp({ PDF_MAX_PAGES: "4" });
  });
  afterAll(() => app?.stop());

  it("streams a video's progress, then the attachment the plain answer gives", async () => {
    const video = await shapeVideo([{ colour: "red", shape: "circle" }, { colour: "blue", shape: "square" }, { colour: "green", shape: "triangle" }], { secondsEach: 2 });
    const res = await uploadWithProgress(app, video, "shapes.mp4");
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^application\/x-ndjson/);
    const progress = res.lines.filter((l) => l.type === "progress");
    expect(progress[0]).toEqual({ type: "progress", kind: "video", percent: 0 });
    expect(progress.at(-1)!.percent).toBe(100);
    const percents = progress.map((l) => l.percent!);
    expect([...percents].sort((a, b) => a - b)).toEqual(percents);
    // Some steps in between: the scene pass and each frame extracted.
    expect(new Set(percents).size).toBeGreaterThan(3);
    const done = res.lines.at(-1)!;
    expect(done).toMatchObject({ type: "done", status: 201, attachment: { mediaType: "video/mp4" } });
    // The same file as a plain upload: the same attachment, the plain 201 JSON answer.
    const plain = await uploadFile(app.client, video, "shapes.mp4");
    expect(plain.status).toBe(201);
    expect(plain.body.attachment.id).toBe(done.attachment!.id);
  });

  it("ends with the refusal's status and whole message, and stores nothing", async () => {
    const [files, rows] = [app.storedFiles(), await app.attachmentRows()];
    const pdf = textPdf(Array.from({ length: 5 }, (_, i) => ({ text: `page ${i + 1}` })));
    const res = await uploadWithProgress(app, pdf, "long.pdf");
    expect(res.status).toBe(200);
    expect(res.lines.at(-1)).toEqual({ type: "error", status: 413, error: { code: "payload_too_large:upload", message: "The PDF has 5 pages; the limit is 4 pages." } });
    expect(app.storedFiles()).toEqual(files);
    expect(await app.attachmentRows()).toBe(rows);
    // What is refused before the file is read is the plain error answer.
    const form = new FormData();
    form.append("other", "no file here");
    const missing = await app.client.fetch("/api/uploads", { method: "POST", body: form, headers: { accept: "application/x-ndjson" } });
    expect(missing.status).toBe(400);
    expect(missing.headers.get("content-type")).toMatch(/^application\/json/);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toMatch(/multipart form field "file"/);
  });
});
