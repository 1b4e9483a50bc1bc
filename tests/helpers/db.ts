import path from "node:path";
import { connectDatabase } from "../../lib/db/connect";

/**
 * The database a test's servers share: TEST_DATABASE_URL when the run sets
 * one (a PostgreSQL database, say), else a fresh SQLite file in `dir`.
 * Tests that use it only look at the rows they created, so a shared
 * database works too.
 */
export function testDatabaseUrl(dir: string): string {
  return process.env.TEST_DATABASE_URL || `file:${path.join(dir, "app.db")}`;
}

/** A Prisma client on that database, opened the way the app opens it. */
export const openDatabase = (url: string) => connectDatabase(url);
