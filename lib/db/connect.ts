import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "@prisma/client";
import { PrismaClient as PostgresPrismaClient } from ".prisma/client-pg";
import { databaseProvider } from "./url";

/**
 * A new Prisma client for a database URL: SQLite (`file:`) or PostgreSQL
 * (`postgresql://`), each through its own generated client and driver
 * adapter, with one model API (typed as the SQLite client's). The app keeps
 * one per process (lib/db/client.ts); tests and scripts open their own with
 * this, so they reach the database exactly the way the app does, whichever
 * one DATABASE_URL names.
 */
export function connectDatabase(url: string): PrismaClient {
  return databaseProvider(url) === "postgresql"
    ? (new PostgresPrismaClient({ adapter: new PrismaPg({ connectionString: url }) }) as unknown as PrismaClient)
    : new PrismaClient({ adapter: new PrismaBetterSQLite3({ url }) });
}
