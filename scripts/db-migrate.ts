// npm run db:migrate / db:status — applies pending migrations to DATABASE_URL
// (or shows them) with our runners: SQLite through lib/db/sqlite-migrate.ts
// (prisma/migrations, in Prisma's own table), PostgreSQL through
// lib/db/pg-migrate.ts (prisma/postgresql/migrations). `npm start` does the same before serving.
import path from "node:path";
import { migratePostgres, postgresMigrationStatus } from "../lib/db/pg-migrate";
import { migrateSqlite, sqliteMigrationStatus } from "../lib/db/sqlite-migrate";
import { databaseProvider, redactDatabaseUrl } from "../lib/db/url";
import { resolveDatabaseUrl } from "../lib/env-schema";

/** Applies pending migrations to `url`; throws with the reason when one fails. */
export async function migrateDatabase(url: string): Promise<void> {
  if (databaseProvider(url) === "postgresql") {
    const report = await migratePostgres(url, { log: (line) => console.log(`  ${line}`) });
    const n = report.applied.length;
    console.log(n ? `  PostgreSQL: ${n} migration${n === 1 ? "" : "s"} applied.` : "  PostgreSQL: No pending migrations to apply.");
    return;
  }
  const report = migrateSqlite(url, { log: (line) => console.log(`  ${line}`) });
  const n = report.applied.length;
  console.log(n ? `  SQLite: ${n} migration${n === 1 ? "" : "s"} applied (${report.applied.join(", ")}).` : "  SQLite: No pending migrations to apply.");
}

async function main() {
  const url = resolveDatabaseUrl();
  const status = process.argv.includes("status");
  console.log(`Database: ${redactDatabaseUrl(url)}`);
  if (!status) return migrateDatabase(url);
  const { applied, pending } = databaseProvider(url) === "sqlite" ? sqliteMigrationStatus(url) : await postgresMigrationStatus(url);
  console.log(`${applied.length} applied${applied.length ? `: ${applied.join(", ")}` : ""}`);
  console.log(pending.length ? `${pending.length} pending: ${pending.join(", ")}` : "Database schema is up to date.");
  process.exit(pending.length ? 1 : 0);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  main().catch((err: Error) => {
    console.error(`\n✖ ${err.message}\n`);
    process.exit(1);
  });
}
