import "server-only";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaClient } from "@prisma/client";
import { env } from "@/lib/env";

/**
 * One Prisma client per process, kept on globalThis so dev hot reload does
 * not open a new SQLite connection on every edit.
 */
const globalForDb = globalThis as { __prisma?: PrismaClient };

export const db: PrismaClient = (globalForDb.__prisma ??= new PrismaClient({
  adapter: new PrismaBetterSQLite3({ url: env.DATABASE_URL }),
}));
