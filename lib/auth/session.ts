import "server-only";
import { getServerSession } from "next-auth";
import { AppError } from "@/lib/errors";
import { authOptions } from "./options";

/** The signed-in user's id, or null. */
export async function currentUserId(): Promise<string | null> {
  const session = await getServerSession(authOptions);
  return session?.user?.id ?? null;
}

/** The signed-in user's id; throws `unauthorized:auth` (401) without a session. */
export async function requireUserId(): Promise<string> {
  const id = await currentUserId();
  if (!id) throw new AppError("unauthorized:auth", "Sign in to continue.");
  return id;
}
