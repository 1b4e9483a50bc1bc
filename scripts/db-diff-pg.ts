// npm run db:diff:pg — the SQL that takes a PostgreSQL database from the last
// PostgreSQL migration to the current schema: the twin of `npm run db:diff`
// for prisma/postgresql/migrations. The "before" side is prisma/schema.prisma
// as committed with the newest PostgreSQL migration, derived for PostgreSQL;
// the "after" side is prisma/postgresql/schema.prisma (run db:pg-schema first).
// Prisma's diff needs a PostgreSQL server to talk to (nothing is written to
// it): DATABASE_URL when it is a PostgreSQL URL, else a throwaway one started
// for the purpose (needs PostgreSQL installed).
//
//   npm run -s db:diff:pg                 print the SQL
//   npm run -s db:diff:pg -- --name NAME  write prisma/postgresql/migrations/<timestamp>_NAME/migration.sql
//
// Hand-written SQL (triggers, the ImageText search table) is not in the
// schema, so the diff never touches it; add such statements by hand.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { derivePostgresSchema, POSTGRES_SCHEMA, postgresSchemaProblem } from "./pg-schema";
import { startThrowawayPostgres } from "./pg-server";

const root = path.resolve(import.meta.dirname, "..");
const migrationsDir = path.join(root, "prisma", "postgresql", "migrations");
const git = (...args: string[]) => execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim();

function main() {
  const problem = postgresSchemaProblem();
  if (problem) throw new Error(problem);
  const nameAt = process.argv.indexOf("--name");
  const name = nameAt > 0 ? process.argv[nameAt + 1] : undefined;
  if (nameAt > 0 && !/^[a-z0-9_]+$/.test(name ?? "")) throw new Error("--name takes a name in lower case, digits and _ (e.g. rate_limits)");

  const commit = git("log", "-1", "--format=%H", "--", "prisma/postgresql/migrations");
  if (!commit) throw new Error("no committed PostgreSQL migration to diff from");
  const before = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lvc-db-diff-pg-")), "schema.prisma");
  fs.writeFileSync(before, derivePostgresSchema(git("show", `${commit}:prisma/schema.prisma`)));

  const configured = process.env.DATABASE_URL ?? "";
  const server = /^postgres(ql)?:\/\//.test(configured) ? null : startThrowawayPostgres();
  let sql: string;
  try {
    sql = execFileSync(
      path.join(root, "node_modules", ".bin", "prisma"),
      ["migrate", "diff", "--config", "prisma/postgresql/prisma.config.ts", "--from-schema-datamodel", before, "--to-schema-datamodel", POSTGRES_SCHEMA, "--script"],
      { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, DATABASE_URL: server?.adminUrl ?? configured } },
    );
  } finally {
    server?.stop();
    fs.rmSync(path.dirname(before), { recursive: true, force: true });
  }
  // The CLI's own chatter, and a schema statement the app's database user may not be allowed to run.
  sql = sql
    .split("\n")
    .filter((l) => !l.startsWith("Loaded Prisma config"))
    .join("\n")
    .replace(/-- CreateSchema\nCREATE SCHEMA IF NOT EXISTS "public";\n\n/, "")
    .trimStart();
  const empty = !/^\s*[A-Z]/m.test(sql.replace(/^--.*$/gm, ""));
  if (!name) {
    process.stdout.write(sql);
    if (empty) console.error("(no schema changes since the last PostgreSQL migration)");
    return;
  }
  if (empty) throw new Error("no schema changes since the last PostgreSQL migration: nothing written");
  // A timestamp after every existing migration, so it applies last.
  const stamp = (d: Date) => d.toISOString().replace(/\D/g, "").slice(0, 14);
  const latest = fs.existsSync(migrationsDir) ? fs.readdirSync(migrationsDir).filter((n) => /^\d{14}_/.test(n)).sort().at(-1)?.slice(0, 14) : undefined;
  let ts = stamp(new Date());
  if (latest && ts <= latest) ts = String(BigInt(latest) + 1n);
  const file = path.join(migrationsDir, `${ts}_${name}`, "migration.sql");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, sql);
  console.log(`wrote ${path.relative(root, file)}: review it, add any hand-written SQL, commit it with the schema change`);
}

try {
  main();
} catch (err) {
  console.error(`✖ ${(err as Error).message}`);
  process.exit(1);
}
