import "server-only";
import type { PrismaClient } from "@prisma/client";
import { env } from "@/lib/env";
import { connectDatabase } from "./connect";

/**
 * One Prisma client per process, kept on globalThis so dev hot reload does
 * not open a new SQLite connection on every edit.
 */
const globalForDb = globalThis as { __prisma?: PrismaClient };

export const db: PrismaClient = (globalForDb.__prisma ??= connectDatabase(env.DATABASE_URL));
