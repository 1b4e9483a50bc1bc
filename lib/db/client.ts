import "server-only";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { Prisma, PrismaClient } from "@prisma/client";
import { Prisma as PostgresPrisma, PrismaClient as PostgresPrismaClient } from ".prisma/client-pg";
import { env } from "@/lib/env";
import { databaseProvider, type DatabaseProvider } from "./url";

/** Which database this process uses (DATABASE_URL): the raw SQL in lib/db differs per dialect. */
export const dialect: DatabaseProvider = databaseProvider(env.DATABASE_URL);

/**
 * One Prisma client per process, kept on globalThis so dev hot reload does
 * not open a new connection (pool) on every edit.
 *
 * SQLite (the default) uses the client generated from prisma/schema.prisma;
 * PostgreSQL the one generated from prisma/postgresql/schema.prisma, which is
 * derived from it (npm run db:pg-schema). Their models and methods are the
 * same, so the app is typed against the SQLite client alone.
 */
const globalForDb = globalThis as { __prisma?: PrismaClient };

export const db: PrismaClient = (globalForDb.__prisma ??=
  dialect === "postgresql"
    ? (new PostgresPrismaClient({ adapter: new PrismaPg({ connectionString: env.DATABASE_URL }) }) as unknown as PrismaClient)
    : new PrismaClient({ adapter: new PrismaBetterSQLite3({ url: env.DATABASE_URL }) }));

/**
 * "Set this Json column to SQL NULL". Each generated client checks for its
 * own runtime's instance, so it must come from the client in use.
 */
export const DbNull: typeof Prisma.DbNull = dialect === "postgresql" ? (PostgresPrisma.DbNull as unknown as typeof Prisma.DbNull) : Prisma.DbNull;
