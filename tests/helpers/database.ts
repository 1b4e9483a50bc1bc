import { createHash } from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import pg from "pg";
import { migratePostgres } from "../../lib/db/pg-migrate";
import { migrateSqlite } from "../../lib/db/sqlite-migrate";

// The database behind a test's data directory. SQLite (default): the file
// <dataDir>/app.db, as `npm start` makes it. PostgreSQL (TEST_DATABASE_URL,
// an admin URL; `npm run test:integration:pg` sets it to a throwaway
// server): a database of its own per data directory, created empty on first
// use, so each test file and each server it starts gets a fresh one, and a
// restart on the same data directory finds its data again.

/** The admin URL of the PostgreSQL server the suite runs against, or undefined (SQLite). */
export const testPostgresUrl = (): string | undefined => process.env.TEST_DATABASE_URL || undefined;

/** Set once per run by the integration global setup; names the run's databases so its teardown drops only them. */
const runId = () => (process.env.LVC_TEST_RUN ??= Math.random().toString(36).slice(2, 8));

const databaseName = (dataDir: string) => `lvc_t_${runId()}_${createHash("sha256").update(path.resolve(dataDir)).digest("hex").slice(0, 16)}`;

function withDatabase(admin: string, name: string): string {
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return u.toString();
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testPostgresUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** DATABASE_URL for a data directory (see above); the PostgreSQL database is created when missing. */
export async function databaseUrlFor(dataDir: string): Promise<string> {
  const admin = testPostgresUrl();
  if (!admin) return `file:${path.join(dataDir, "app.db")}`;
  const name = databaseName(dataDir);
  await withAdmin(async (client) => {
    const exists = (await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name])).rowCount;
    if (exists) return;
    try {
      await client.query(`CREATE DATABASE "${name}"`);
    } catch (err) {
      if ((err as { code?: string }).code !== "42P04") throw err; // created meanwhile
    }
  });
  return withDatabase(admin, name);
}

/** Applies the migrations to a test database, as `npm start` would. */
export async function migrateTestDatabase(url: string): Promise<void> {
  if (!url.startsWith("file:")) {
    await migratePostgres(url);
    return;
  }
  migrateSqlite(url);
}

// better-sqlite3 ships no types.
type Sqlite = { prepare(sql: string): { all(...args: unknown[]): unknown[] }; close(): void };
const Sqlite = createRequire(import.meta.url)("better-sqlite3") as new (file: string, opts: { readonly: boolean }) => Sqlite;

/**
 * Rows of a query on a data directory's database, read directly (to see what
 * the API would hide). Write SQL both understand: quoted identifiers, `?`
 * placeholders, CAST(count(*) AS INTEGER) for counts.
 */
export async function queryTestDatabase<T = Record<string, unknown>>(dataDir: string, sql: string, params: unknown[] = []): Promise<T[]> {
  if (!testPostgresUrl()) {
    const db = new Sqlite(path.join(dataDir, "app.db"), { readonly: true });
    try {
      return db.prepare(sql).all(...params) as T[];
    } finally {
      db.close();
    }
  }
  let n = 0;
  const client = new pg.Client({ connectionString: await databaseUrlFor(dataDir) });
  await client.connect();
  try {
    return (await client.query(sql.replace(/\?/g, () => `$${++n}`), params)).rows as T[];
  } finally {
    await client.end();
  }
}

/**
 * Whether `needle` is stored anywhere in a data directory's database: SQLite
 * scans its files' bytes; PostgreSQL every row of every table as text (bytea
 * as hex, so the needle's hex is looked for too).
 */
export async function databaseContains(dataDir: string, needle: string): Promise<boolean> {
  if (!testPostgresUrl()) {
    const files = fs.readdirSync(dataDir).filter((f) => f.startsWith("app.db"));
    if (!files.length) throw new Error(`no SQLite files in ${dataDir}`);
    return files.some((f) => fs.readFileSync(path.join(dataDir, f)).includes(needle));
  }
  const tables = await queryTestDatabase<{ name: string }>(dataDir, "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'");
  if (!tables.length) throw new Error(`no tables in ${dataDir}'s database`);
  const hex = Buffer.from(needle).toString("hex");
  for (const { name } of tables) {
    const [row] = await queryTestDatabase<{ n: number }>(
      dataDir,
      `SELECT CAST(count(*) AS INTEGER) AS n FROM "${name}" t WHERE strpos(t::text, ?) > 0 OR strpos(t::text, ?) > 0`,
      [needle, hex],
    );
    if (row!.n > 0) return true;
  }
  return false;
}

/** Drops this run's databases (the integration teardown; a throwaway server goes away anyway). */
export async function dropTestDatabases(): Promise<void> {
  if (!testPostgresUrl()) return;
  await withAdmin(async (client) => {
    const { rows } = await client.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE $1", [`lvc\\_t\\_${runId()}\\_%`]);
    for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  });
}
