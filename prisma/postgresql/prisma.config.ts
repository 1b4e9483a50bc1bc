import { PrismaPg } from "@prisma/adapter-pg";
import { defineConfig } from "prisma/config";
import { postgresSchemaProblem } from "../../scripts/pg-schema";

// The Prisma CLI for the PostgreSQL client: `prisma generate --config
// prisma/postgresql/prisma.config.ts` (npm run db:generate and postinstall do
// it) and `migrate diff` (npm run db:diff:pg). schema.prisma here is derived
// from ../schema.prisma (npm run db:pg-schema); a stale one is refused.
// Migrations are applied by the app's own runner (lib/db/pg-migrate.ts), not
// by `prisma migrate deploy`, which fails against PostgreSQL on Prisma 6.19's
// JS engine.
const problem = postgresSchemaProblem();
if (problem) throw new Error(problem);

// The schema's `env("DATABASE_URL")` must resolve even where no PostgreSQL
// database is configured (postinstall, generate): nothing connects then.
const url = process.env.DATABASE_URL?.match(/^postgres(ql)?:/) ? process.env.DATABASE_URL : "postgresql://localhost/unused";
process.env.DATABASE_URL = url;

export default defineConfig({
  schema: "schema.prisma",
  migrations: { path: "migrations" },
  engine: "js",
  experimental: { adapter: true },
  async adapter() {
    return new PrismaPg({ connectionString: url });
  },
});
