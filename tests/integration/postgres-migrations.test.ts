import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { migratePostgres, postgresMigrationStatus, readMigrations } from "@/lib/db/pg-migrate";
import { databaseUrlFor, testPostgresUrl } from "../helpers/database";

// The PostgreSQL migrations and their runner (PostgreSQL pass only: npm run
// test:integration:pg). The migrations must build exactly the schema that
// prisma/postgresql/schema.prisma describes (Prisma's introspection cannot
// run against PostgreSQL on its JS engine, so the two databases' catalogs are
// compared here), and instances starting together must not race.

const root = path.resolve(import.meta.dirname, "..", "..");
const dirs: string[] = [];
const freshDatabase = async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-pg-migrations-"));
  dirs.push(dir);
  return databaseUrlFor(dir);
};
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    client.on("notice", () => {});
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

/** Tables, columns, indexes and constraints of the public schema, except what is hand-written (not in the Prisma schema). */
async function describeSchema(url: string): Promise<string[]> {
  const handWritten = `('ImageText', '_lvc_migrations')`;
  const rows = await query<{ line: string }>(
    url,
    `SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' null=' || is_nullable || ' default=' || coalesce(column_default, '-') AS line
       FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT IN ${handWritten}
     UNION ALL
     SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename NOT IN ${handWritten}
     UNION ALL
     SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
       FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text NOT IN ('"ImageText"', '_lvc_migrations')`,
  );
  return rows.map((r) => r.line).sort();
}

describe.skipIf(!testPostgresUrl())("PostgreSQL migrations", () => {
  it("build exactly the schema of prisma/postgresql/schema.prisma", async () => {
    const migrated = await freshDatabase();
    await migratePostgres(migrated);
    const expected = await freshDatabase();
    const sql = execFileSync(
      path.join(root, "node_modules", ".bin", "prisma"),
      ["migrate", "diff", "--config", "prisma/postgresql/prisma.config.ts", "--from-empty", "--to-schema-datamodel", "prisma/postgresql/schema.prisma", "--script"],
      { cwd: root, encoding: "utf8", env: { ...process.env, DATABASE_URL: expected }, stdio: ["ignore", "pipe", "pipe"] },
    );
    await query(expected, sql.replace(/^Loaded Prisma config.*$/m, ""));
    const want = await describeSchema(expected);
    expect(want.length).toBeGreaterThan(50);
    // A difference here: prisma/schema.prisma changed without a PostgreSQL migration (npm run db:diff:pg).
    expect(await describeSchema(migrated)).toEqual(want);
  });

  it("are applied once when instances start together, and not again", async () => {
    const url = await freshDatabase();
    const names = readMigrations().map((m) => m.name);
    const reports = await Promise.all([migratePostgres(url), migratePostgres(url), migratePostgres(url)]);
    expect(reports.flatMap((r) => r.applied).sort()).toEqual([...names].sort());
    expect((await migratePostgres(url)).applied).toEqual([]);
    expect(await postgresMigrationStatus(url)).toEqual({ applied: [...names].sort(), pending: [] });
  });

  it("roll a failed migration back whole and stop there, keeping the ones before", async () => {
    const url = await freshDatabase();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-pg-bad-migrations-"));
    dirs.push(dir);
    const add = (name: string, sql: string) => {
      fs.mkdirSync(path.join(dir, name));
      fs.writeFileSync(path.join(dir, name, "migration.sql"), sql);
    };
    add("20000101000000_one", 'CREATE TABLE "One" ("id" int);');
    add("20000102000000_bad", 'CREATE TABLE "Two" ("id" int);\nINSERT INTO "Nowhere" VALUES (1);');
    add("20000103000000_three", 'CREATE TABLE "Three" ("id" int);');
    await expect(migratePostgres(url, { dir })).rejects.toThrow(/20000102000000_bad failed \(rolled back\): .*"Nowhere"/);
    const tables = (await query<{ t: string }>(url, "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).map((r) => r.t);
    expect(tables).toEqual(["One", "_lvc_migrations"]);
    expect(await postgresMigrationStatus(url, { dir })).toEqual({ applied: ["20000101000000_one"], pending: ["20000102000000_bad", "20000103000000_three"] });
  });
});
