// npm run db:migrate / db:status — applies pending migrations to DATABASE_URL
// (or shows them): SQLite through `prisma migrate deploy` (prisma/migrations),
// PostgreSQL through our runner (lib/db/pg-migrate.ts,
// prisma/postgresql/migrations). `npm start` does the same before serving.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { stripVTControlCharacters } from "node:util";
import { migratePostgres, postgresMigrationStatus } from "../lib/db/pg-migrate";
import { databaseProvider, redactDatabaseUrl } from "../lib/db/url";
import { resolveDatabaseUrl } from "../lib/env-schema";

const root = path.resolve(import.meta.dirname, "..");

/** Applies pending migrations to `url`; throws with the reason when one fails. */
export async function migrateDatabase(url: string, { env = process.env }: { env?: NodeJS.ProcessEnv } = {}): Promise<void> {
  if (databaseProvider(url) === "postgresql") {
    const report = await migratePostgres(url, { log: (line) => console.log(`  ${line}`) });
    // The same words as Prisma's `migrate deploy` for SQLite.
    const n = report.applied.length;
    console.log(n ? `  PostgreSQL: ${n} migration${n === 1 ? "" : "s"} applied.` : "  PostgreSQL: No pending migrations to apply.");
    return;
  }
  // Prisma's own report (its config banner, a warning meant for schema authors, a tree of every
  // migration) is shown only when it fails; otherwise one line, in the words the PostgreSQL path uses.
  const result = spawnSync(path.join(root, "node_modules", ".bin", "prisma"), ["migrate", "deploy", "--config", "prisma/prisma.config.ts"], {
    cwd: root,
    env: { ...env, DATABASE_URL: url, NO_COLOR: "1" },
    encoding: "utf8",
  });
  const output = stripVTControlCharacters(`${result.stdout ?? ""}${result.stderr ?? ""}`);
  if (result.status !== 0) {
    process.stderr.write(output);
    throw new Error(`prisma migrate deploy failed (exit ${result.status ?? result.signal})`);
  }
  const applied = [...output.matchAll(/└─ (\d{14}_[\w-]+)\//g)].map((m) => m[1]!);
  const n = applied.length;
  if (/No pending migrations to apply/.test(output)) console.log("  SQLite: No pending migrations to apply.");
  else console.log(`  SQLite: ${n || "the pending"} migration${n === 1 ? "" : "s"} applied${n ? ` (${applied.join(", ")})` : ""}.`);
}

async function main() {
  const url = resolveDatabaseUrl();
  const status = process.argv.includes("status");
  console.log(`Database: ${redactDatabaseUrl(url)}`);
  if (!status) return migrateDatabase(url);
  if (databaseProvider(url) === "sqlite") {
    const r = spawnSync(path.join(root, "node_modules", ".bin", "prisma"), ["migrate", "status", "--config", "prisma/prisma.config.ts"], { cwd: root, stdio: "inherit" });
    process.exit(r.status ?? 1);
  }
  const { applied, pending } = await postgresMigrationStatus(url);
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
