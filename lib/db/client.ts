import "server-only";
import { Prisma, type PrismaClient } from "@prisma/client";
import { Prisma as PostgresPrisma, PrismaClient as PostgresPrismaClient } from ".prisma/client-pg";
import { env } from "@/lib/env";
import { connectDatabase } from "./connect";
import { databaseProvider, type DatabaseProvider } from "./url";

/** Which database this process uses (DATABASE_URL): the raw SQL in lib/db differs per dialect. */
export const dialect: DatabaseProvider = databaseProvider(env.DATABASE_URL);

/**
 * One Prisma client per process, kept on globalThis so dev hot reload does
 * not open a new connection on every edit.
 */
const globalForDb = globalThis as { __prisma?: PrismaClient };

export const db: PrismaClient = (globalForDb.__prisma ??= connectDatabase(env.DATABASE_URL, PostgresPrismaClient));

/**
 * "Set this Json column to SQL NULL". Each generated client checks for its
 * own runtime's instance, so it must come from the client in use.
 */
export const DbNull: typeof Prisma.DbNull = dialect === "postgresql" ? (PostgresPrisma.DbNull as unknown as typeof Prisma.DbNull) : Prisma.DbNull;
