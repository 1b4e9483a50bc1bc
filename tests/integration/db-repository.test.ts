import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseUrlFor, migrateTestDatabase } from "../helpers/database";

// Runs the repository functions against a real, freshly migrated database
// (a SQLite file, or PostgreSQL under TEST_DATABASE_URL: tests/helpers/database.ts).
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-db-"));
process.env.DATA_DIR = dataDir;

type Repo = typeof import("@/lib/db/conversations");
type Db = typeof import("@/lib/db/client");
let repo: Repo;
let db: Db["db"];

beforeAll(async () => {
  process.env.DATABASE_URL = await databaseUrlFor(dataDir);
  await migrateTestDatabase(process.env.DATABASE_URL);
  repo = await import("@/lib/db/conversations");
  db = (await import("@/lib/db/client")).db;
});
afterAll(async () => {
  await db?.$disconnect();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function user(email: string) {
  return db.user.create({ data: { email, passwordHash: "x" } });
}

async function attachment(userId: string, sha: string) {
  return db.attachment.create({
    data: { userId, sha256: sha, mediaType: "image/png", width: 1, height: 1, byteSize: 1, storageKey: `aa/bb/${sha}.png` },
  });
}

describe("deleteConversationOrThrow", () => {
  it("removes messages and only the attachments no other message uses", async () => {
    const owner = await user("owner@example.test");
    const other = await user("other@example.test");
    const doomed = await repo.createConversation({ userId: owner.id, title: "doomed" });
    const kept = await repo.createConversation({ userId: owner.id, title: "kept" });
    const only = await attachment(owner.id, "1".repeat(64));
    const shared = await attachment(owner.id, "2".repeat(64));
    // The same bytes uploaded by another user share the blob file.
    await attachment(other.id, "1".repeat(64));

    const m1 = await db.message.create({
      data: { conversationId: doomed.id, position: 0, role: "user", parts: [{ type: "image", attachmentId: only.id }] },
    });
    await db.messageAttachment.createMany({
      data: [
        { messageId: m1.id, attachmentId: only.id },
        { messageId: m1.id, attachmentId: shared.id },
      ],
    });
    const m2 = await db.message.create({
      data: { conversationId: kept.id, position: 0, role: "user", parts: [{ type: "image", attachmentId: shared.id }] },
    });
    await db.messageAttachment.create({ data: { messageId: m2.id, attachmentId: shared.id } });

    await expect(repo.deleteConversationOrThrow({ id: doomed.id, userId: other.id })).rejects.toThrow(
      "Conversation not found.",
    );
    const { orphanedStorageKeys } = await repo.deleteConversationOrThrow({ id: doomed.id, userId: owner.id });

    expect(await db.message.count({ where: { conversationId: doomed.id } })).toBe(0);
    expect(await db.attachment.findUnique({ where: { id: only.id } })).toBeNull();
    expect(await db.attachment.findUnique({ where: { id: shared.id } })).not.toBeNull();
    // The blob of `only` is still used by the other user's attachment row.
    expect(orphanedStorageKeys).toEqual([]);
    expect((await repo.getConversationOrThrow({ id: kept.id, userId: owner.id })).messages).toHaveLength(1);
  });
});

describe("deleteUnsentAttachments", () => {
  it("removes only old uploads no message uses, keeping shared blobs", async () => {
    const { deleteUnsentAttachments } = await import("@/lib/db/attachments");
    const u = await user("uploader@example.test");
    const old = new Date(Date.now() - 48 * 3600 * 1000);
    const abandoned = await db.attachment.create({
      data: { userId: u.id, sha256: "3".repeat(64), mediaType: "image/png", width: 1, height: 1, byteSize: 1, storageKey: `aa/bb/${"3".repeat(64)}.png`, createdAt: old },
    });
    const fresh = await attachment(u.id, "4".repeat(64));
    const sent = await db.attachment.create({
      data: { userId: u.id, sha256: "5".repeat(64), mediaType: "image/png", width: 1, height: 1, byteSize: 1, storageKey: `aa/bb/${"5".repeat(64)}.png`, createdAt: old },
    });
    const c = await repo.createConversation({ userId: u.id });
    const m = await db.message.create({ data: { conversationId: c.id, position: 0, role: "user", parts: [{ type: "image", attachmentId: sent.id }] } });
    await db.messageAttachment.create({ data: { messageId: m.id, attachmentId: sent.id } });

    const keys = await deleteUnsentAttachments({ olderThan: new Date(Date.now() - 24 * 3600 * 1000) });
    expect(keys).toEqual([abandoned.storageKey]);
    expect(await db.attachment.findUnique({ where: { id: abandoned.id } })).toBeNull();
    expect(await db.attachment.findUnique({ where: { id: fresh.id } })).not.toBeNull();
    expect(await db.attachment.findUnique({ where: { id: sent.id } })).not.toBeNull();
  });
});

describe("beginTurnOrThrow", () => {
  it("lets only one of several turns sent at once into a conversation start an answer", async () => {
    const { beginTurnOrThrow } = await import("@/lib/db/messages");
    const u = await user("racer@example.test");
    const c = await repo.createConversation({ userId: u.id });
    const turn = (i: number) =>
      beginTurnOrThrow({ conversationId: c.id, userId: u.id, model: "m", instanceId: "test", turn: { kind: "ask", parts: [{ type: "text", text: `question ${i}` }] } });
    const results = await Promise.allSettled([1, 2, 3, 4].map(turn));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results.filter((r) => r.status === "rejected")) expect(String((r as PromiseRejectedResult).reason)).toMatch(/still being written/);
    expect(await db.message.count({ where: { conversationId: c.id, status: "streaming" } })).toBe(1);
    await expect(beginTurnOrThrow({ conversationId: c.id, userId: "someone-else", model: "m", instanceId: "test", turn: { kind: "regenerate" } })).rejects.toThrow("Conversation not found.");
  });
});

describe("rehashPassword", () => {
  it("replaces the hash only while it is still the one that was checked, and signs no session out", async () => {
    const { rehashPassword } = await import("@/lib/db/users");
    const u = await db.user.create({ data: { email: "rehash@example.test", passwordHash: "old-hash" } });
    // The password changed meanwhile: the new one stays.
    await rehashPassword({ userId: u.id, from: "not-the-current-hash", to: "cheaper-hash" });
    expect((await db.user.findUniqueOrThrow({ where: { id: u.id } })).passwordHash).toBe("old-hash");
    await rehashPassword({ userId: u.id, from: "old-hash", to: "new-hash" });
    const after = await db.user.findUniqueOrThrow({ where: { id: u.id } });
    expect(after.passwordHash).toBe("new-hash");
    expect(after.tokenVersion).toBe(u.tokenVersion);
  });
});
