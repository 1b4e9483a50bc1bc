import fs from "node:fs";
import path from "node:path";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { defineConfig } from "prisma/config";
import { resolveDatabaseUrl } from "../lib/env-schema";

// The CLI (generate, migrate deploy/diff/status) runs on the JS engine with
// the same better-sqlite3 adapter as the app, so nothing is downloaded.
// Always pass `--config prisma/prisma.config.ts` (the npm scripts do);
// without it the CLI tries to download its native engines.
// The schema's `env("DATABASE_URL")` must resolve even when the variable is
// unset (postinstall, a bare `npm start`), and SQLite needs its folder.
// This config is SQLite's: with a PostgreSQL DATABASE_URL, generate still
// works (on the default SQLite URL, which nothing opens), but anything that
// connects is refused (npm run db:migrate picks the right tool).
const configured = resolveDatabaseUrl();
const postgres = !configured.startsWith("file:");
const url = postgres ? resolveDatabaseUrl({ DATA_DIR: process.env.DATA_DIR }) : configured;
process.env.DATABASE_URL = url;
if (!postgres) fs.mkdirSync(path.dirname(url.replace(/^file:/, "")), { recursive: true });

export default defineConfig({
  schema: "schema.prisma",
  migrations: { path: "migrations" },
  engine: "js",
  experimental: { adapter: true },
  async adapter() {
    if (postgres) throw new Error("DATABASE_URL is a PostgreSQL URL: this is the SQLite config; use npm run db:migrate / db:status");
    return new PrismaBetterSQLite3({ url });
  },
});
