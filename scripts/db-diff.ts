// npm run db:diff — prints the SQL that takes the database from the last
// migration to the current prisma/schema.prisma. Prisma's own
// `--from-migrations` needs a shadow database, which its JS engine cannot use
// offline (P3006), so the "before" side is the schema as it was committed
// together with the newest migration.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const git = (...args: string[]) => execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim();
const commit = git("log", "-1", "--format=%H", "--", "prisma/migrations");
if (!commit) throw new Error("no committed migration to diff from");
const before = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lvc-db-diff-")), "schema.prisma");
fs.writeFileSync(before, git("show", `${commit}:prisma/schema.prisma`));
const sql = execFileSync(
  path.join(root, "node_modules", ".bin", "prisma"),
  ["migrate", "diff", "--config", "prisma/prisma.config.ts", "--from-schema-datamodel", before, "--to-schema-datamodel", "prisma/schema.prisma", "--script"],
  // The SQLite config, on its default file even where DATABASE_URL names PostgreSQL (a diff of two schemas writes nothing).
  { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, DATABASE_URL: "" } },
);
process.stdout.write(sql);
