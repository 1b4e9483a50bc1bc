// npm run db:pg-schema — writes prisma/postgresql/schema.prisma, the
// PostgreSQL twin of prisma/schema.prisma. schema.prisma is the only schema
// anyone edits: a Prisma schema has exactly one provider, so the PostgreSQL
// one is derived from it (provider and client output change, nothing else)
// and committed. `--check` only compares and exits 1 when the committed file
// is stale; the unit tests and `prisma generate` for PostgreSQL
// (prisma/postgresql/prisma.config.ts) refuse a stale file too.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const root = path.resolve(import.meta.dirname, "..");
export const SQLITE_SCHEMA = path.join(root, "prisma", "schema.prisma");
export const POSTGRES_SCHEMA = path.join(root, "prisma", "postgresql", "schema.prisma");

const HEADER = `// GENERATED from prisma/schema.prisma by \`npm run db:pg-schema\`: do not edit.
// Edit prisma/schema.prisma, then run \`npm run db:generate\` (this file and both
// clients) and \`npm run db:diff:pg\` for the PostgreSQL migration.
`;

/** The PostgreSQL schema for a SQLite schema's text. Throws when the text does not have the expected shape. */
export function derivePostgresSchema(sqlite: string): string {
  let providers = 0;
  let outputs = 0;
  const out = sqlite
    .replace(/(datasource\s+db\s*\{[^}]*?provider\s*=\s*)"sqlite"/, (_m, head: string) => {
      providers++;
      return `${head}"postgresql"`;
    })
    .replace(/(generator\s+client\s*\{[^}]*?output\s*=\s*)"\.\.\/node_modules\/\.prisma\/client"/, (_m, head: string) => {
      outputs++;
      return `${head}"../../node_modules/.prisma/client-pg"`;
    });
  if (providers !== 1) throw new Error('prisma/schema.prisma: expected one `datasource db { provider = "sqlite" }`');
  if (outputs !== 1) throw new Error('prisma/schema.prisma: expected the client generator\'s `output = "../node_modules/.prisma/client"`');
  return HEADER + out;
}

/** Null when the committed PostgreSQL schema matches schema.prisma, else what is wrong. */
export function postgresSchemaProblem(): string | null {
  const want = derivePostgresSchema(fs.readFileSync(SQLITE_SCHEMA, "utf8"));
  if (!fs.existsSync(POSTGRES_SCHEMA)) return `${path.relative(root, POSTGRES_SCHEMA)} is missing: run npm run db:pg-schema`;
  if (fs.readFileSync(POSTGRES_SCHEMA, "utf8") !== want) {
    return `${path.relative(root, POSTGRES_SCHEMA)} is stale (prisma/schema.prisma changed): run npm run db:pg-schema and commit it`;
  }
  return null;
}

function main() {
  if (process.argv.includes("--check")) {
    const problem = postgresSchemaProblem();
    if (problem) {
      console.error(problem);
      process.exit(1);
    }
    console.log(`${path.relative(root, POSTGRES_SCHEMA)} is up to date.`);
    return;
  }
  const text = derivePostgresSchema(fs.readFileSync(SQLITE_SCHEMA, "utf8"));
  fs.mkdirSync(path.dirname(POSTGRES_SCHEMA), { recursive: true });
  const changed = !fs.existsSync(POSTGRES_SCHEMA) || fs.readFileSync(POSTGRES_SCHEMA, "utf8") !== text;
  if (changed) fs.writeFileSync(POSTGRES_SCHEMA, text);
  console.log(`${path.relative(root, POSTGRES_SCHEMA)} ${changed ? "written" : "is up to date"}.`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) main();
