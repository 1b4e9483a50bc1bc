/**
 * The PostgreSQL migration runner (`npm start`, `npm run db:migrate`).
 * Prisma 6.19's `migrate deploy` fails against PostgreSQL on its JS engine,
 * so the SQL files in prisma/postgresql/migrations/<name>/migration.sql
 * (made with `npm run db:diff:pg`) are applied here: pending ones in name
 * order, each in its own transaction together with its row in
 * `_lvc_migrations`, under an advisory lock so that instances starting
 * together take turns (the second finds nothing left to do).
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";

export const POSTGRES_MIGRATIONS_DIR = path.resolve(import.meta.dirname, "..", "..", "prisma", "postgresql", "migrations");

/** The advisory lock key (any constant bigint; "lvc-migrate"). */
const LOCK_KEY = "7308038211537119589";
const TABLE = "_lvc_migrations";

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

/** The migrations in `dir`, in the order they apply (folder names sort by their timestamp prefix). */
export function readMigrations(dir = POSTGRES_MIGRATIONS_DIR): Migration[] {
  if (!fs.existsSync(dir)) throw new Error(`${dir} does not exist`);
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(dir, e.name, "migration.sql")))
    .map((e) => e.name)
    .sort()
    .map((name) => {
      const sql = fs.readFileSync(path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    });
}

export interface MigrationReport {
  applied: string[];
  /** Applied earlier, file since changed (not re-run). */
  changed: string[];
  /** In the database, not in the folder (a newer version ran here?). */
  unknown: string[];
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const ensureTable = (client: pg.Client) =>
  client.query(`CREATE TABLE IF NOT EXISTS "${TABLE}" ("name" text PRIMARY KEY, "checksum" text NOT NULL, "appliedAt" timestamptz NOT NULL DEFAULT now())`);

/** Applies the pending migrations; throws (having applied the ones before) when one fails. */
export async function migratePostgres(url: string, { dir, log = () => {} }: { dir?: string; log?: (line: string) => void } = {}): Promise<MigrationReport> {
  const migrations = readMigrations(dir);
  return withClient(url, async (client) => {
    // Quiet: CREATE … IF NOT EXISTS and friends report NOTICEs.
    client.on("notice", () => {});
    await client.query("SELECT pg_advisory_lock($1)", [LOCK_KEY]);
    try {
      await ensureTable(client);
      const done = new Map((await client.query<{ name: string; checksum: string }>(`SELECT "name", "checksum" FROM "${TABLE}"`)).rows.map((r) => [r.name, r.checksum]));
      const report: MigrationReport = { applied: [], changed: [], unknown: [] };
      const names = new Set(migrations.map((m) => m.name));
      report.unknown = [...done.keys()].filter((n) => !names.has(n)).sort();
      for (const m of migrations) {
        if (done.has(m.name)) {
          if (done.get(m.name) !== m.checksum) report.changed.push(m.name);
          continue;
        }
        log(`applying ${m.name}`);
        await client.query("BEGIN");
        try {
          await client.query(m.sql);
          await client.query(`INSERT INTO "${TABLE}" ("name", "checksum") VALUES ($1, $2)`, [m.name, m.checksum]);
          await client.query("COMMIT");
        } catch (err) {
          await client.query("ROLLBACK").catch(() => {});
          throw new Error(`PostgreSQL migration ${m.name} failed (rolled back): ${(err as Error).message}`, { cause: err });
        }
        report.applied.push(m.name);
      }
      for (const name of report.changed) log(`warning: ${name} changed after it was applied here; it is not run again`);
      for (const name of report.unknown) log(`warning: ${name} is applied in the database but is not in ${path.basename(dir ?? POSTGRES_MIGRATIONS_DIR)}/ (code older than the database?)`);
      return report;
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [LOCK_KEY]).catch(() => {});
    }
  });
}

/** Applied and pending migrations, for `npm run db:status`. */
export async function postgresMigrationStatus(url: string, { dir }: { dir?: string } = {}): Promise<{ applied: string[]; pending: string[] }> {
  const migrations = readMigrations(dir);
  return withClient(url, async (client) => {
    const exists = (await client.query(`SELECT to_regclass('"${TABLE}"') AS t`)).rows[0]?.t;
    const done = new Set(exists ? (await client.query<{ name: string }>(`SELECT "name" FROM "${TABLE}"`)).rows.map((r) => r.name) : []);
    return { applied: [...done].sort(), pending: migrations.filter((m) => !done.has(m.name)).map((m) => m.name) };
  });
}
