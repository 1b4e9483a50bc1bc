import "server-only";
import { createUser, type PublicUser } from "@/lib/db/users";
import { hashPassword } from "./password";
import { limitSignUp, markKnownAddress } from "./rate-limit";
import type { SignUp } from "./schema";

/** Creates an account; 409 for a taken email, 429 past the per-IP limit. */
export async function signUp({ email, password, name }: SignUp, { ip }: { ip: string }): Promise<PublicUser> {
  await limitSignUp({ ip });
  const user = await createUser({ email, name, passwordHash: await hashPassword(password) });
  await markKnownAddress({ ip, email: user.email });
  return user;
}
