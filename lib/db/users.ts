import "server-only";
import { AppError } from "@/lib/errors";
import { db } from "./client";

export interface PublicUser {
  id: string;
  email: string;
  name: string | null;
}

/** Creates a user; a taken email is a `conflict:signup` error (HTTP 409). */
export async function createUser({
  email,
  name,
  passwordHash,
}: {
  email: string;
  name?: string;
  passwordHash: string;
}): Promise<PublicUser> {
  try {
    return await db.user.create({
      data: { email, name: name ?? null, passwordHash },
      select: { id: true, email: true, name: true },
    });
  } catch (err) {
    if ((err as { code?: string }).code === "P2002") {
      throw new AppError("conflict:signup", "An account with this email already exists.");
    }
    throw err;
  }
}

/** The user with this email and their password hash, or null. For sign-in only. */
export function getUserCredentialsByEmail({ email }: { email: string }) {
  return db.user.findUnique({
    where: { email },
    select: { id: true, email: true, name: true, passwordHash: true, tokenVersion: true },
  });
}

/** Whether the database answers a trivial query. */
export async function pingDatabase(): Promise<boolean> {
  try {
    await db.$queryRaw`SELECT 1`;
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the user may change what the whole server runs (ADMIN_EMAILS, or
 * without it the first account: the person who set the app up).
 */
export async function isAdmin({ userId, adminEmails }: { userId: string; adminEmails: string[] | undefined }): Promise<boolean> {
  if (adminEmails?.includes("*")) return true;
  if (adminEmails) {
    const user = await db.user.findUnique({ where: { id: userId }, select: { email: true } });
    return Boolean(user && adminEmails.includes(user.email.toLowerCase()));
  }
  const first = await db.user.findFirst({ orderBy: [{ createdAt: "asc" }, { id: "asc" }], select: { id: true } });
  return first?.id === userId;
}

/** The user's current session token version, or null when the user is gone. */
export async function getTokenVersion({ userId }: { userId: string }): Promise<number | null> {
  const user = await db.user.findUnique({ where: { id: userId }, select: { tokenVersion: true } });
  return user?.tokenVersion ?? null;
}

/** Bumps the user's session token version: every token issued before no longer counts. */
export async function bumpTokenVersion({ userId }: { userId: string }): Promise<void> {
  await db.user.update({ where: { id: userId }, data: { tokenVersion: { increment: 1 } } });
}

/** The user's email and display name; `not_found:user` when the user is gone. */
export async function getAccountOrThrow({ userId }: { userId: string }): Promise<PublicUser> {
  const user = await db.user.findUnique({ where: { id: userId }, select: { id: true, email: true, name: true } });
  if (!user) throw new AppError("not_found:user", "This account no longer exists.");
  return user;
}

/** Sets the user's display name (null: none, the email is shown instead). */
export async function updateDisplayName({ userId, name }: { userId: string; name: string | null }): Promise<PublicUser> {
  return db.user.update({ where: { id: userId }, data: { name }, select: { id: true, email: true, name: true } });
}

/** The user's password hash, or null when the user is gone. For a password change only. */
export async function getPasswordHash({ userId }: { userId: string }): Promise<string | null> {
  const user = await db.user.findUnique({ where: { id: userId }, select: { passwordHash: true } });
  return user?.passwordHash ?? null;
}

/**
 * Replaces a password hash with one of the same password at another cost,
 * unless the password changed meanwhile. Sessions stay signed in.
 */
export async function rehashPassword({ userId, from, to }: { userId: string; from: string; to: string }): Promise<void> {
  await db.user.updateMany({ where: { id: userId, passwordHash: from }, data: { passwordHash: to } });
}

/** Replaces the password and bumps the token version in one write (every session issued before stops counting); returns the new version. */
export async function replacePassword({ userId, passwordHash }: { userId: string; passwordHash: string }): Promise<number> {
  const user = await db.user.update({ where: { id: userId }, data: { passwordHash, tokenVersion: { increment: 1 } }, select: { tokenVersion: true } });
  return user.tokenVersion;
}
