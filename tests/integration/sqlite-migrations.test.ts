// The SQLite migration runner (lib/db/sqlite-migrate.ts) against Prisma's own `migrate deploy`:
// the same schema, the same `_prisma_migrations` rows as far as Prisma can tell, rows kept through
// the migrations that rebuild tables, and a failed migration rolled back whole.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { migrateSqlite, SQLITE_MIGRATIONS_DIR, sqliteMigrationStatus } from "@/lib/db/sqlite-migrate";

const root = path.resolve(import.meta.dirname, "..", "..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-sqlite-migrate-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const prisma = (args: string[], url: string) =>
  spawnSync(path.join(root, "node_modules", ".bin", "prisma"), [...args, "--config", "prisma/prisma.config.ts"], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: url, NO_COLOR: "1" },
    encoding: "utf8",
  });

/** Every table, index and trigger as SQLite stores it, without the migrations table. */
function schema(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name != '_prisma_migrations' ORDER BY type, name").all() as { type: string; name: string; sql: string | null }[];
    return rows.map((r) => `${r.type} ${r.name}: ${r.sql}`);
  } finally {
    db.close();
  }
}

/** A copy of the first `n` migrations (and, if given, one more of our own) to apply in steps. */
function migrationsDir(name: string, n: number, extra?: { name: string; sql: string }): string {
  const dir = path.join(tmp, name);
  const all = fs.readdirSync(SQLITE_MIGRATIONS_DIR).filter((f) => /^\d{14}_/.test(f)).sort();
  for (const m of all.slice(0, n)) fs.cpSync(path.join(SQLITE_MIGRATIONS_DIR, m), path.join(dir, m), { recursive: true });
  if (extra) {
    fs.mkdirSync(path.join(dir, extra.name), { recursive: true });
    fs.writeFileSync(path.join(dir, extra.name, "migration.sql"), extra.sql);
  }
  return dir;
}

describe("SQLite migrations", () => {
  it("build the schema Prisma's migrate deploy builds, and Prisma finds nothing pending after them", () => {
    const ours = path.join(tmp, "ours.db");
    const theirs = path.join(tmp, "theirs.db");
    const report = migrateSqlite(`file:${ours}`);
    expect(report.applied.length).toBeGreaterThanOrEqual(10);
    const deployed = prisma(["migrate", "deploy"], `file:${theirs}`);
    expect(deployed.status, deployed.stdout + deployed.stderr).toBe(0);
    expect(schema(ours)).toEqual(schema(theirs));

    const status = prisma(["migrate", "status"], `file:${ours}`);
    expect(status.stdout + status.stderr).toMatch(/Database schema is up to date/);
    // And the other way: a database Prisma migrated has nothing pending for us.
    expect(migrateSqlite(`file:${theirs}`).applied).toEqual([]);
    expect(sqliteMigrationStatus(`file:${theirs}`).pending).toEqual([]);
  });

  it("keeps the rows of tables that later migrations rebuild (no cascade from a dropped table)", () => {
    const file = path.join(tmp, "steps.db");
    const url = `file:${file}`;
    expect(migrateSqlite(url, { dir: migrationsDir("first", 1) }).applied).toHaveLength(1);
    const db = new Database(file);
    db.exec(`INSERT INTO "User" ("id", "email", "passwordHash") VALUES ('u1', 'a@example.test', 'x');
      INSERT INTO "Conversation" ("id", "userId", "updatedAt") VALUES ('c1', 'u1', CURRENT_TIMESTAMP);
      INSERT INTO "Message" ("id", "conversationId", "position", "role", "parts") VALUES ('m1', 'c1', 0, 'user', '[]');`);
    db.close();
    expect(sqliteMigrationStatus(url).pending.length).toBeGreaterThan(0);
    const rest = migrateSqlite(url);
    expect(rest.applied.length).toBeGreaterThanOrEqual(9);
    const after = new Database(file, { readonly: true });
    expect(after.prepare(`SELECT "id" FROM "Message"`).all()).toEqual([{ id: "m1" }]);
    expect(after.prepare(`SELECT "id", "title" FROM "Conversation"`).all()).toEqual([{ id: "c1", title: "New conversation" }]);
    after.close();
    expect(migrateSqlite(url).applied).toEqual([]);
  });

  it("rolls a failing migration back whole, records nothing, and says which one failed", () => {
    const file = path.join(tmp, "broken.db");
    const url = `file:${file}`;
    const dir = migrationsDir("broken", 2, { name: "20990101000000_broken", sql: `CREATE TABLE "Half" ("id" TEXT);\nINSERT INTO "Nowhere" VALUES (1);\n` });
    expect(() => migrateSqlite(url, { dir })).toThrow(/20990101000000_broken failed \(rolled back\): no such table: Nowhere/);
    const db = new Database(file, { readonly: true });
    expect(db.prepare(`SELECT name FROM sqlite_master WHERE name = 'Half'`).all()).toEqual([]);
    expect((db.prepare(`SELECT "migration_name" FROM "_prisma_migrations" ORDER BY 1`).all() as { migration_name: string }[]).map((r) => r.migration_name)).toHaveLength(2);
    db.close();
    // Fixed, it applies on the next start.
    fs.writeFileSync(path.join(dir, "20990101000000_broken", "migration.sql"), `CREATE TABLE "Half" ("id" TEXT);\n`);
    expect(migrateSqlite(url, { dir }).applied).toEqual(["20990101000000_broken"]);
  });
});
