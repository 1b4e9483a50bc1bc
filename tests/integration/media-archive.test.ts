import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Archive } from "@/lib/archive/archive-schema";
import { chat, newConversation } from "../helpers/chat";
import { TestClient } from "../helpers/client";
import { partsOf, startMediaApp, uploadFile, type MediaApp } from "../helpers/media-app";
import { chirp, salesCsv, shapeVideo, textPdf, wav } from "../helpers/media-files";

// Export → import of a conversation with a video, an audio file, a PDF and a
// table, through the real app (its own server and data directory, the demo
// model): the file carries each upload's bytes (`media`), the import reads
// them again into the same frames, pages, chart and spectrogram, in another
// account; a bad media entry is refused whole and leaves nothing behind.

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

interface Upload {
  name: string;
  bytes: Buffer;
  type: string;
  id?: string;
  url?: string;
  mediaType?: string;
}

async function importJson(client: TestClient, body: unknown) {
  const res = await client.fetch("/api/import", { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
  return { status: res.status, body: (await res.json()) as { conversations: { id: string }[]; images: number; media?: number; error?: { code: string; message: string } } };
}

/** The attachment ids a conversation's messages use, in order, as the API lists them. */
async function attachmentIds(client: TestClient, conversationId: string): Promise<string[]> {
  const res = await client.fetch(`/api/conversations/${conversationId}`);
  expect(res.status).toBe(200);
  const { conversation } = (await res.json()) as { conversation: { messages: { parts: { type: string; attachmentId?: string }[] }[] } };
  return conversation.messages.flatMap((m) => m.parts.flatMap((p) => (p.type === "image" ? [p.attachmentId!] : [])));
}

/** What was read from an upload, without ids: its facts and each derived part's label, time and page. */
async function readOf(client: TestClient, id: string) {
  const parts = await partsOf(client, id);
  return { mediaType: parts.mediaType, info: parts.info, parts: parts.parts.map(({ label, time, page }) => ({ label, time, page })) };
}

describe("export and import of media uploads", () => {
  let app: MediaApp;
  let bob: TestClient;
  let conversationId: string;
  let archive: Archive;
  const uploads: Upload[] = [];

  beforeAll(async () => {
    app = await startMediaApp();
    bob = new TestClient(app.server.url);
    await bob.newAccount();
    uploads.push(
      { name: "shapes.mp4", type: "video/mp4", bytes: await shapeVideo([{ colour: "red", shape: "circle" }, { colour: "blue", shape: "square" }], { secondsEach: 1 }) },
      { name: "chirp.wav", type: "audio/wav", bytes: wav(chirp(1)) },
      { name: "report.pdf", type: "application/pdf", bytes: textPdf([{ text: "Quarterly report" }, { text: "A red circle", rgb: [0.86, 0.12, 0.12], shape: "circle" }]) },
      { name: "sales.csv", type: "text/csv", bytes: salesCsv(8) },
    );
    for (const u of uploads) {
      const up = await uploadFile(app.client, u.bytes, u.name, u.type);
      expect(up.status).toBe(201);
      Object.assign(u, { id: up.body.attachment.id, url: up.body.attachment.url, mediaType: up.body.attachment.mediaType });
    }
    // One conversation: a question per file (the answers are the demo model's; only what travels is under test).
    conversationId = await newConversation(app.client);
    for (const u of uploads) {
      const r = await chat(app.client, { id: conversationId, message: { role: "user", parts: [{ type: "file", mediaType: u.mediaType, url: u.url }, { type: "text", text: `What is in ${u.name}?` }] } });
      expect(r.status).toBe(200);
    }
    const res = await app.client.fetch(`/api/conversations/${conversationId}/export?format=json`);
    expect(res.status).toBe(200);
    archive = (await res.json()) as Archive;
  }, 600_000);
  afterAll(() => app?.stop());

  it("exports each upload's bytes as it was uploaded, named by its SHA-256 from the messages", () => {
    expect(archive.images).toEqual([]);
    expect(archive.media?.map((m) => m.mediaType).sort()).toEqual(["application/pdf", "audio/wav", "text/csv", "video/mp4"]);
    for (const u of uploads) {
      const entry = archive.media!.find((m) => m.sha256 === sha256(u.bytes))!;
      expect(entry.mediaType).toBe(u.mediaType);
      expect(Buffer.from(entry.data, "base64").equals(u.bytes)).toBe(true);
    }
    const named = archive.conversations[0]!.messages.flatMap((m) => m.parts.flatMap((p) => (p.type === "image" ? [p.sha256] : [])));
    expect(named).toEqual(uploads.map((u) => sha256(u.bytes)));
  });

  it("imports them into another account with the same frames, spectrogram, pages and chart", async () => {
    const rowsBefore = await app.attachmentRows();
    const imported = await importJson(bob, archive);
    expect(imported.status).toBe(201);
    expect(imported.body).toMatchObject({ images: 0, media: 4 });
    const ids = await attachmentIds(bob, imported.body.conversations[0]!.id);
    expect(ids).toHaveLength(4);
    for (const [i, u] of uploads.entries()) {
      // Bob's own copy: new rows, the same bytes, and what was read from it the same as Alice's.
      expect(ids[i]).not.toBe(u.id);
      const bytes = Buffer.from(await (await bob.fetch(`/api/uploads/${ids[i]}`)).arrayBuffer());
      expect(bytes.equals(u.bytes)).toBe(true);
      const [mine, theirs] = [await readOf(bob, ids[i]!), await readOf(app.client, u.id!)];
      expect(mine).toEqual(theirs);
      expect(mine.parts.length).toBeGreaterThan(0);
      // The derived images are Bob's too, and the same pictures.
      const [a, b] = [await partsOf(bob, ids[i]!), await partsOf(app.client, u.id!)];
      for (const [k, part] of a.parts.entries()) {
        const res = await bob.fetch(part.url);
        expect(res.status).toBe(200);
        expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(new Uint8Array(await (await app.client.fetch(b.parts[k]!.url)).arrayBuffer())));
      }
      // Alice's rows stay hers.
      expect((await bob.fetch(`/api/uploads/${u.id}/parts`)).status).toBe(404);
    }
    // New rows: four uploads and their derived images, for Bob.
    const derived = (await Promise.all(ids.map((id) => partsOf(bob, id)))).reduce((n, p) => n + p.parts.length, 0);
    expect((await app.attachmentRows()) - rowsBefore).toBe(4 + derived);

    // Imported again: the same uploads are reused, nothing new is stored.
    const [rows, files] = [await app.attachmentRows(), app.storedFiles()];
    const again = await importJson(bob, archive);
    expect(again.status).toBe(201);
    expect(await attachmentIds(bob, again.body.conversations[0]!.id)).toEqual(ids);
    expect(await app.attachmentRows()).toBe(rows);
    expect(app.storedFiles()).toEqual(files);
  });

  // The refusals put the bad entry right after the table, the cheapest file to read: one upload is
  // read before it (and must be taken back), and the video is never decoded (seconds per case).
  it.each([
    [
      "data that is not its SHA-256",
      (a: Archive) => ({ ...a, media: tableFirst(a, "application/pdf").map((m) => (m.mediaType === "application/pdf" ? { ...m, data: Buffer.from("%PDF-1.4 other").toString("base64") } : m)) }),
      400,
      /media\[1\] \(application\/pdf, [0-9a-f]{12}…\): the file's data does not match its sha256/,
    ],
    [
      "a damaged PDF under its own hash",
      (a: Archive) => {
        const bad = Buffer.from("%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");
        const b = { ...a, media: tableFirst(a, "application/pdf") };
        return relabel(b, 1, bad);
      },
      400,
      /media\[1\] \(application\/pdf, [0-9a-f]{12}…\): The PDF is damaged/,
    ],
    ["a media type that is not one", (a: Archive) => ({ ...a, media: tableFirst(a, "audio/wav").map((m, i) => (i === 1 ? { ...m, mediaType: "application/x-sh" } : m)) }), 400, /media\.1\.mediaType: must be the media type of a video, audio file, PDF or table/],
    // The missing entry is only known at the end: the video is the one left out.
    ["a file named by no entry", (a: Archive) => ({ ...a, media: a.media!.filter((m) => m.mediaType !== "video/mp4") }), 400, /no image with this SHA-256 is in the file/],
    ["media that is not a list", (a: Archive) => ({ ...a, media: {} }), 400, /media: must be a list/],
  ])("refuses %s, naming it, and keeps nothing (not even the uploads read before it)", async (_what, change, status, message) => {
    const carol = new TestClient(app.server.url);
    await carol.newAccount();
    const [rows, files] = [await app.attachmentRows(), app.storedFiles()];
    const res = await importJson(carol, change(archive));
    expect(res.status).toBe(status);
    expect(res.body.error?.message).toMatch(message);
    expect(await app.attachmentRows()).toBe(rows);
    expect(app.storedFiles()).toEqual(files);
    const list = (await (await carol.fetch("/api/conversations")).json()) as { conversations: unknown[] };
    expect(list.conversations).toEqual([]);
  });
});

/** The archive's media with the table first and the entry of `mediaType` second (then the rest). */
function tableFirst(a: Archive, mediaType: string): NonNullable<Archive["media"]> {
  const media = a.media!;
  const first = [media.find((m) => m.mediaType === "text/csv")!, media.find((m) => m.mediaType === mediaType)!];
  return [...first, ...media.filter((m) => !first.includes(m))];
}

/** The archive with media entry `index` replaced by these bytes, under their own hash (in the messages too). */
function relabel(a: Archive, index: number, bytes: Buffer): Archive {
  const old = a.media![index]!.sha256;
  const sha = sha256(bytes);
  return {
    ...a,
    media: a.media!.map((m, i) => (i === index ? { ...m, sha256: sha, data: bytes.toString("base64") } : m)),
    conversations: a.conversations.map((c) => ({
      ...c,
      messages: c.messages.map((m) => ({ ...m, parts: m.parts.map((p) => (p.type === "image" && p.sha256 === old ? { ...p, sha256: sha } : p)) })),
    })),
  };
}
