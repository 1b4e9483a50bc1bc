import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseUrlFor, migrateTestDatabase } from "../helpers/database";

// The image index in the database itself (freshly migrated; SQLite, or
// PostgreSQL under TEST_DATABASE_URL):
// the migration's triggers create an entry for every stored attachment and
// mark the chat text around an image stale; the index, full-text rows
// included, goes away with its attachment (the unsent-upload cleanup).
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-image-index-"));
process.env.DATA_DIR = dataDir;

let db: typeof import("@/lib/db/client")["db"];
let index: typeof import("@/lib/db/image-index");

beforeAll(async () => {
  process.env.DATABASE_URL = await databaseUrlFor(dataDir);
  await migrateTestDatabase(process.env.DATABASE_URL);
  db = (await import("@/lib/db/client")).db;
  index = await import("@/lib/db/image-index");
});
afterAll(async () => {
  await db?.$disconnect();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const textRows = async (id: string) => (await db.$queryRaw<{ n: number }[]>`SELECT count(*) AS n FROM "ImageText" WHERE "attachmentId" = ${id}`)[0]!.n;

describe("the image index in the database", () => {
  it("queues every stored image, indexes its text, and forgets it with the unsent-upload cleanup", async () => {
    const user = await db.user.create({ data: { email: "index@example.test", passwordHash: "x" } });
    const sha = "ab".repeat(32);
    const old = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    const a = await db.attachment.create({
      data: { userId: user.id, sha256: sha, mediaType: "image/png", width: 1, height: 1, byteSize: 1, storageKey: `ab/ab/${sha}.png`, createdAt: old },
    });
    expect(await db.imageIndex.findUnique({ where: { attachmentId: a.id } })).toMatchObject({ userId: user.id, status: "pending", textStale: true });
    expect((await index.nextPendingImages({ limit: 10 })).map((p) => p.attachmentId)).toEqual([a.id]);

    await index.saveImageCaption({ attachmentId: a.id, caption: "A red circle." });
    expect(await index.refreshStaleImageText({ limit: 10 })).toBe(1);
    const hits = await index.searchImageText({ userId: user.id, words: ["circle"], limit: 5 });
    expect(hits.map((h) => [h.id, h.captionWords])).toEqual([[a.id, ["circle"]]]);
    expect(await index.searchImageText({ userId: "someone-else", words: ["circle"], limit: 5 })).toEqual([]);

    const { deleteUnsentAttachments } = await import("@/lib/db/attachments");
    await deleteUnsentAttachments({ olderThan: new Date(Date.now() - 24 * 3600 * 1000) });
    expect(await db.imageIndex.count({ where: { attachmentId: a.id } })).toBe(0);
    expect(Number(await textRows(a.id))).toBe(0);
  });

  it("marks the text around an image stale when it is sent and when the answer is written", async () => {
    const user = await db.user.create({ data: { email: "stale@example.test", passwordHash: "x" } });
    const sha = "cd".repeat(32);
    const a = await db.attachment.create({ data: { userId: user.id, sha256: sha, mediaType: "image/png", width: 1, height: 1, byteSize: 1, storageKey: `cd/cd/${sha}.png` } });
    await index.refreshStaleImageText({ limit: 10 });
    const stale = async () => (await db.imageIndex.findUniqueOrThrow({ where: { attachmentId: a.id } })).textStale;
    expect(await stale()).toBe(false);
    const c = await db.conversation.create({ data: { userId: user.id } });
    const q = await db.message.create({ data: { conversationId: c.id, position: 0, role: "user", parts: [{ type: "text", text: "my bakery logo" }], attachments: { create: { attachmentId: a.id } } } });
    expect(await stale()).toBe(true);
    await index.refreshStaleImageText({ limit: 10 });
    const answer = await db.message.create({ data: { conversationId: c.id, position: 1, role: "assistant", parts: [], status: "streaming", parentId: q.id } });
    expect(await stale()).toBe(true);
    await index.refreshStaleImageText({ limit: 10 });
    await db.message.update({ where: { id: answer.id }, data: { parts: [{ type: "text", text: "A blue square." }], status: "complete" } });
    expect(await stale()).toBe(true);
    await index.refreshStaleImageText({ limit: 10 });
    const hits = await index.searchImageText({ userId: user.id, words: ["bakery", "square"], limit: 5 });
    expect(hits[0]!.chatWords.sort()).toEqual(["bakery", "square"]);
  });
});
