/**
 * The SQLite migration runner (`npm start`, `npm run db:migrate`): applies
 * prisma/migrations/<name>/migration.sql in name order, each in its own
 * transaction together with its row in Prisma's own `_prisma_migrations`
 * table (same columns, same SHA-256 checksum of the file), so that
 * `prisma migrate status` and `prisma migrate deploy` agree with it on a
 * database either of them migrated.
 *
 * Why not `prisma migrate deploy`: spawning the Prisma CLI and its schema
 * engine costs 3–8 s of a start on two cores (about 6 s of CPU), even when
 * nothing is pending, and every test server pays it. This is the same
 * runner as lib/db/pg-migrate.ts on the same folder layout, with better-sqlite3,
 * which the app already uses as Prisma's driver.
 *
 * Unlike Prisma's, a failed migration leaves no row behind: SQLite's DDL is
 * transactional, so it is rolled back whole and the next start tries again.
 */
import { randomUUID } from "node:crypto";
import path from "node:path";
import Database from "better-sqlite3";
import { readMigrations, type MigrationReport } from "./pg-migrate";

export const SQLITE_MIGRATIONS_DIR = path.resolve(import.meta.dirname, "..", "..", "prisma", "migrations");

const TABLE = "_prisma_migrations";

/** The file a `file:` URL names, as the app's driver (@prisma/adapter-better-sqlite3) opens it: relative to the working directory. */
export function sqliteFile(url: string): string {
  return url.replace(/^file:/, "").replace(/\?.*$/, "");
}

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS "${TABLE}" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`;

interface Row {
  migration_name: string;
  checksum: string;
  finished_at: string | null;
  rolled_back_at: string | null;
}

/** Applies the pending migrations; throws (having applied the ones before) when one fails. */
export function migrateSqlite(url: string, { dir = SQLITE_MIGRATIONS_DIR, log = () => {} }: { dir?: string; log?: (line: string) => void } = {}): MigrationReport {
  const migrations = readMigrations(dir);
  const db = new Database(sqliteFile(url), { timeout: 30_000 });
  try {
    // As Prisma's files intend (their PRAGMA foreign_keys lines do nothing inside a transaction):
    // a table rebuilt by create-copy-drop-rename must not cascade the drop to the rows that point
    // at it. Whether the references still hold is checked before each migration commits.
    db.pragma("foreign_keys = OFF");
    db.exec(CREATE_TABLE);
    const report: MigrationReport = { applied: [], changed: [], unknown: [] };
    // Another instance may be migrating the same file: each migration is checked again inside its
    // own write transaction (BEGIN IMMEDIATE), so the second one finds it done and moves on.
    const rows = () => db.prepare(`SELECT "migration_name", "checksum", "finished_at", "rolled_back_at" FROM "${TABLE}"`).all() as Row[];
    const failed = rows().filter((r) => r.finished_at === null && r.rolled_back_at === null);
    if (failed.length) {
      throw new Error(
        `migration ${failed.map((r) => r.migration_name).join(", ")} failed earlier and was left half-applied by \`prisma migrate deploy\`; ` +
          "repair the database, then mark it with `npx prisma migrate resolve --config prisma/prisma.config.ts`",
      );
    }
    const names = new Set(migrations.map((m) => m.name));
    report.unknown = [...new Set(rows().map((r) => r.migration_name))].filter((n) => !names.has(n)).sort();
    for (const m of migrations) {
      const apply = db.transaction(() => {
        const done = (db.prepare(`SELECT "checksum" FROM "${TABLE}" WHERE "migration_name" = ? AND "finished_at" IS NOT NULL AND "rolled_back_at" IS NULL`).get(m.name) as { checksum: string } | undefined)?.checksum;
        if (done !== undefined) return done === m.checksum ? "done" : "changed";
        const started = new Date().toISOString();
        db.exec(m.sql);
        const broken = db.pragma("foreign_key_check") as { table: string; parent: string }[];
        if (broken.length) throw new Error(`${broken.length} row(s) would point at nothing (first: ${broken[0]!.table} → ${broken[0]!.parent})`);
        db.prepare(`INSERT INTO "${TABLE}" ("id", "checksum", "finished_at", "migration_name", "started_at", "applied_steps_count") VALUES (?, ?, ?, ?, ?, 1)`).run(
          randomUUID(),
          m.checksum,
          new Date().toISOString(),
          m.name,
          started,
        );
        return "applied";
      });
      let outcome: string;
      try {
        outcome = apply.immediate();
      } catch (err) {
        throw new Error(`SQLite migration ${m.name} failed (rolled back): ${(err as Error).message}`, { cause: err });
      }
      if (outcome === "applied") report.applied.push(m.name);
      else if (outcome === "changed") report.changed.push(m.name);
    }
    for (const name of report.changed) log(`warning: ${name} changed after it was applied here; it is not run again`);
    for (const name of report.unknown) log(`warning: ${name} is applied in the database but is not in migrations/ (code older than the database?)`);
    return report;
  } finally {
    db.close();
  }
}

/** Applied and pending migrations, for `npm run db:status`. */
export function sqliteMigrationStatus(url: string, { dir = SQLITE_MIGRATIONS_DIR }: { dir?: string } = {}): { applied: string[]; pending: string[] } {
  const migrations = readMigrations(dir);
  const db = new Database(sqliteFile(url), { readonly: false, timeout: 30_000 });
  try {
    const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(TABLE);
    const done = new Set(
      exists ? (db.prepare(`SELECT "migration_name" FROM "${TABLE}" WHERE "finished_at" IS NOT NULL AND "rolled_back_at" IS NULL`).all() as Row[]).map((r) => r.migration_name) : [],
    );
    return { applied: [...done].sort(), pending: migrations.filter((m) => !done.has(m.name)).map((m) => m.name) };
  } finally {
    db.close();
  }
}
