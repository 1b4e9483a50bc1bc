import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaClient } from "@prisma/client";

/**
 * A new Prisma client for a database URL. The app keeps one per process
 * (lib/db/client.ts); tests and scripts open their own with this, so they
 * reach the database exactly the way the app does, whichever one
 * DATABASE_URL names.
 */
export function connectDatabase(url: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaBetterSQLite3({ url }) });
}
