import { createRequire } from "node:module";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "@prisma/client";
import type { PrismaClient as PostgresPrismaClient } from ".prisma/client-pg";
import { databaseProvider } from "./url";

type PostgresClientClass = typeof PostgresPrismaClient;

/**
 * A new Prisma client for a database URL: SQLite (`file:`) or PostgreSQL
 * (`postgresql://`), each through its own generated client and driver
 * adapter, with one model API (typed as the SQLite client's). The app keeps
 * one per process (lib/db/client.ts); tests and scripts open their own with
 * this, so they reach the database exactly the way the app does, whichever
 * one DATABASE_URL names.
 *
 * The PostgreSQL client lives in `node_modules/.prisma/client-pg`, a name
 * plain Node's ESM loader refuses (it starts with a dot): the app passes the
 * class it imported through the bundler; scripts and tests get it with
 * require, only when they open a PostgreSQL database.
 */
export function connectDatabase(url: string, PostgresClient?: PostgresClientClass): PrismaClient {
  if (databaseProvider(url) !== "postgresql") return new PrismaClient({ adapter: new PrismaBetterSQLite3({ url }) });
  const Client = PostgresClient ?? (createRequire(import.meta.url)(".prisma/client-pg") as { PrismaClient: PostgresClientClass }).PrismaClient;
  return new Client({ adapter: new PrismaPg({ connectionString: url }) }) as unknown as PrismaClient;
}
