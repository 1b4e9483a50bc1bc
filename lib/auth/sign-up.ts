import "server-only";
import { createUser, type PublicUser } from "@/lib/db/users";
import { hashPassword } from "./password";
import { limitSignUp } from "./rate-limit";
import type { SignUp } from "./schema";

/** Creates an account; 409 for a taken email, 429 past the per-IP limit. */
export async function signUp({ email, password, name }: SignUp, { ip }: { ip: string }): Promise<PublicUser> {
  await limitSignUp({ ip });
  return createUser({ email, name, passwordHash: await hashPassword(password) });
}
