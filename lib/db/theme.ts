import "server-only";
import { isTheme, type Theme } from "@/lib/theme";
import { db } from "./client";

/** The user's colour scheme; "system" for an unknown user or a value this version does not know. */
export async function getTheme({ userId }: { userId: string }): Promise<Theme> {
  const row = await db.user.findUnique({ where: { id: userId }, select: { theme: true } });
  return isTheme(row?.theme) ? row.theme : "system";
}

export async function setTheme({ userId, theme }: { userId: string; theme: Theme }): Promise<Theme> {
  await db.user.update({ where: { id: userId }, data: { theme } });
  return theme;
}
