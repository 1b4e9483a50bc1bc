import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { PrismaClient } from "@prisma/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectDatabase } from "@/lib/db/connect";
import { databaseUrlFor, migrateTestDatabase } from "../helpers/database";

// What instances share through the database and the upload directory, in
// one process: rate limits counted by one client are seen by another (two
// Prisma clients = two instances), instance leases and the orphaned-answer
// cleanup, and blob removal racing with an upload of the same bytes.
// On a fresh SQLite file, or a fresh PostgreSQL database under `npm run test:integration:pg`.
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-multi-db-"));
process.env.DATA_DIR = dataDir;
process.env.SIGNUP_LIMIT_PER_IP = "3";
process.env.INSTANCE_LEASE_MS = "20000";

let db: PrismaClient;
let other: PrismaClient;

beforeAll(async () => {
  process.env.DATABASE_URL = await databaseUrlFor(dataDir);
  await migrateTestDatabase(process.env.DATABASE_URL);
  db = (await import("@/lib/db/client")).db;
  other = connectDatabase(process.env.DATABASE_URL!);
});
afterAll(async () => {
  await other?.$disconnect();
  await db?.$disconnect();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const unique = () => Math.random().toString(36).slice(2);

describe("rate limits in the database", () => {
  it("counts sign-ups, sign-in failures and API requests once for every instance", async () => {
    const { createAuthLimiters } = await import("@/lib/auth/rate-limit");
    const first = createAuthLimiters(db);
    const second = createAuthLimiters(other);
    const ip = `10.0.0.${unique()}`;
    await first.signupPerIp.consume(ip);
    await second.signupPerIp.consume(ip);
    await first.signupPerIp.consume(ip);
    // SIGNUP_LIMIT_PER_IP = 3: the fourth, on either instance, is refused with the time to wait.
    await expect(second.signupPerIp.consume(ip)).rejects.toMatchObject({ remainingPoints: 0, msBeforeNext: expect.any(Number) });
    await expect(first.signupPerIp.consume(ip)).rejects.toMatchObject({ remainingPoints: 0 });

    const email = `${unique()}@example.test`;
    await first.failuresPerEmail.consume(email);
    await second.failuresPerEmail.consume(email);
    expect((await first.failuresPerEmail.get(email))?.consumedPoints).toBe(2);
    await second.failuresPerEmail.delete(email);
    expect(await first.failuresPerEmail.get(email)).toBeNull();

    // Concurrent increments from both are all counted.
    const user = unique();
    await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? first : second).apiPerKey.consume(user)));
    expect((await second.apiPerKey.get(user))?.consumedPoints).toBe(10);
    expect(await db.rateLimiterFlexible.count({ where: { key: `api-key:${user}` } })).toBe(1);
  });

  it("keeps counting when a limiter's window has passed (a new window starts)", async () => {
    const { createAuthLimiters } = await import("@/lib/auth/rate-limit");
    const limiters = createAuthLimiters(db);
    const ip = `10.1.0.${unique()}`;
    await limiters.signupPerIp.consume(ip);
    await db.rateLimiterFlexible.update({ where: { key: `signup-ip:${ip}` }, data: { expire: new Date(Date.now() - 1000), points: 99 } });
    expect((await createAuthLimiters(other).signupPerIp.consume(ip)).consumedPoints).toBe(1);
  });
});

describe("instance leases", () => {
  async function conversation() {
    const user = await db.user.create({ data: { email: `${unique()}@example.test`, passwordHash: "x" } });
    return db.conversation.create({ data: { userId: user.id } });
  }
  async function answer(conversationId: string, instanceId: string | null, { status = "streaming", createdAt = new Date(Date.now() - 60_000) } = {}) {
    return db.message.create({
      data: { conversationId, position: 1, role: "assistant", parts: [{ type: "text", text: `partial of ${instanceId}` }], status, instanceId, createdAt },
    });
  }
  const lease = (id: string, expiresInMs: number) =>
    db.appInstance.create({ data: { id, host: "test", pid: 1, expiresAt: new Date(Date.now() + expiresInMs) } });
  const row = (id: string) => db.message.findUniqueOrThrow({ where: { id } });

  it("closes only the answers of instances that are gone, keeping their text", async () => {
    const { closeAnswersOfGoneInstances } = await import("@/lib/instance/lease");
    const { ORPHANED_ANSWER_ERROR } = await import("@/lib/chat/message-parts");
    const c = await conversation();
    const alive = `alive-${unique()}`;
    const expired = `expired-${unique()}`;
    await lease(alive, 15_000);
    await lease(expired, -1000);
    const onAlive = await answer(c.id, alive);
    const onExpired = await answer(c.id, expired);
    const noOwner = await answer(c.id, null);
    const leaseGone = await answer(c.id, `shut-down-${unique()}`);
    // An instance that registered after the sweep read the leases: its new answer is not touched.
    const justStarted = await answer(c.id, `new-${unique()}`, { createdAt: new Date() });
    const finished = await answer(c.id, expired, { status: "complete" });

    expect(await closeAnswersOfGoneInstances()).toBe(3);
    for (const m of [onExpired, noOwner, leaseGone]) {
      expect(await row(m.id)).toMatchObject({ status: "stopped", error: ORPHANED_ANSWER_ERROR, parts: m.parts });
    }
    for (const m of [onAlive, justStarted]) expect(await row(m.id)).toMatchObject({ status: "streaming", error: null });
    expect((await row(finished.id)).status).toBe("complete");
    expect(await db.appInstance.findUnique({ where: { id: expired } })).toBeNull();
    expect(await db.appInstance.findUnique({ where: { id: alive } })).not.toBeNull();
    // Nothing left to do: a second sweep writes nothing.
    expect(await closeAnswersOfGoneInstances()).toBe(0);
  });

  it("does not wait for the lease of a process of this machine that has ended (a crash and restart)", async () => {
    const { closeAnswersOfGoneInstances, hostId } = await import("@/lib/instance/lease");
    const c = await conversation();
    const deadPid = spawnSync("true").pid!; // ended by the time spawnSync returns
    const crashed = `crashed-${unique()}`;
    const elsewhere = `elsewhere-${unique()}`;
    const sameHostAlive = `alive-here-${unique()}`;
    const future = new Date(Date.now() + 15_000);
    await db.appInstance.create({ data: { id: crashed, host: hostId(), pid: deadPid, expiresAt: future } });
    await db.appInstance.create({ data: { id: elsewhere, host: "another-machine", pid: deadPid, expiresAt: future } });
    await db.appInstance.create({ data: { id: sameHostAlive, host: hostId(), pid: process.ppid, expiresAt: future } });
    const onCrashed = await answer(c.id, crashed);
    const onElsewhere = await answer(c.id, elsewhere);
    const onAlive = await answer(c.id, sameHostAlive);

    expect(await closeAnswersOfGoneInstances()).toBeGreaterThanOrEqual(1);
    expect((await row(onCrashed.id)).status).toBe("stopped");
    // Another machine's process can't be seen from here, and a running one is alive: both wait for their leases.
    expect((await row(onElsewhere.id)).status).toBe("streaming");
    expect((await row(onAlive.id)).status).toBe("streaming");
    expect(await db.appInstance.findUnique({ where: { id: crashed } })).toBeNull();
    await db.appInstance.deleteMany({ where: { id: { in: [elsewhere, sameHostAlive] } } });
    await db.message.updateMany({ where: { id: { in: [onElsewhere.id, onAlive.id] } }, data: { status: "stopped" } });
  });

  it("hands each expired lease to one sweeper, and a lease renewed in time is never counted dead", async () => {
    const { sweepInstances, renewInstance } = await import("@/lib/db/instances");
    const a = `a-${unique()}`;
    const b = `b-${unique()}`;
    await lease(a, -1);
    await lease(b, -1);
    expect(await renewInstance({ id: b, expiresAt: new Date(Date.now() + 20_000) })).toBe(true);
    const now = new Date();
    const [one, two] = await Promise.all([sweepInstances(now), sweepInstances(now)]);
    expect([...one.dead, ...two.dead].filter((id) => id === a)).toEqual([a]);
    expect([...one.dead, ...two.dead]).not.toContain(b);
    // The swept instance learns it at its next renewal.
    expect(await renewInstance({ id: a, expiresAt: new Date(Date.now() + 20_000) })).toBe(false);
  });

  it("never reopens or overwrites an answer once it was closed", async () => {
    const { saveAnswer } = await import("@/lib/db/messages");
    const c = await conversation();
    const m = await answer(c.id, "someone", { status: "stopped" });
    expect(await saveAnswer({ id: m.id, text: "late flush", status: "streaming" })).toBe(false);
    expect(await saveAnswer({ id: m.id, text: "late final save", status: "complete" })).toBe(false);
    expect(await row(m.id)).toMatchObject({ status: "stopped", parts: m.parts });
    expect(await saveAnswer({ id: "no-such-answer", text: "x", status: "complete" })).toBe(false);
  });

  it("takes a lease at start, renews it, and removes it at shutdown", async () => {
    const { instanceId, startInstanceLease, stopInstanceLease } = await import("@/lib/instance/lease");
    await startInstanceLease();
    const mine = await db.appInstance.findUniqueOrThrow({ where: { id: instanceId() } });
    expect(mine).toMatchObject({ host: (await import("@/lib/instance/lease")).hostId(), pid: process.pid });
    expect(mine.expiresAt.getTime() - Date.now()).toBeGreaterThan(15_000);
    await stopInstanceLease();
    expect(await db.appInstance.findUnique({ where: { id: instanceId() } })).toBeNull();
  });
});

describe("the shared upload directory", () => {
  it("puts back a file whose bytes were saved again while it was being removed, and rewrites one removed under an upload", async () => {
    const { blobPath, ensureBlob, removeBlobs, storageKeyFor, writeBlob } = await import("@/lib/storage/blob-store");
    const key = storageKeyFor("ab".repeat(32), "png");
    const bytes = new Uint8Array([1, 2, 3]);
    await writeBlob(key, bytes);
    // Another instance's upload recorded a row for the same bytes after this removal decided the key was unused.
    await removeBlobs([key], { stillUsed: async (keys) => new Set(keys) });
    expect(fs.readFileSync(blobPath(key))).toEqual(Buffer.from(bytes));
    await removeBlobs([key], { stillUsed: async () => new Set() });
    expect(fs.existsSync(blobPath(key))).toBe(false);
    // The upload that skipped writing (the file was there) checks again after its row: the file comes back.
    await ensureBlob(key, bytes);
    expect(fs.readFileSync(blobPath(key))).toEqual(Buffer.from(bytes));
    // No temporary or set-aside files are left.
    expect(fs.readdirSync(path.dirname(blobPath(key)))).toEqual([path.basename(blobPath(key))]);
    await removeBlobs([key, storageKeyFor("cd".repeat(32), "jpg")], { stillUsed: async () => new Set() });
  });
});
