import "server-only";
import { randomUUID } from "node:crypto";
import type { NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { getUserCredentialsByEmail, rehashPassword } from "@/lib/db/users";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { clientIp } from "./client-ip";
import { dummyHash, hashPassword, needsRehash, verifyPassword } from "./password";
import { throttleSignIn } from "./rate-limit";
import { revokeToken, tokenIsCurrent } from "./revocation";
import { credentialsSchema } from "./schema";

// next-auth builds redirects and the callback-url cookie from NEXTAUTH_URL
// when it is set, and otherwise (with AUTH_TRUST_HOST) from the request's
// Host / X-Forwarded-Host, which anyone can forge. `npm start` sets it from
// APP_URL; this covers `next dev` and any other way of starting the server.
process.env.NEXTAUTH_URL = env.APP_URL;

export const authOptions: NextAuthOptions = {
  secret: env.AUTH_SECRET,
  // The Credentials provider only works with JWT sessions.
  session: { strategy: "jwt", maxAge: 30 * 24 * 60 * 60 },
  pages: { signIn: "/signin" },
  providers: [
    CredentialsProvider({
      name: "Email and password",
      credentials: {
        email: { label: "Email", type: "email" },
        password: { label: "Password", type: "password" },
      },
      async authorize(credentials, req) {
        const parsed = credentialsSchema.safeParse(credentials);
        if (!parsed.success) return null;
        const { email, password } = parsed.data;
        try {
          const user = await throttleSignIn({ ip: clientIp(req?.headers?.["x-forwarded-for"]), email }, async ({ knownAddress }) => {
            const found = await getUserCredentialsByEmail({ email });
            const ok = await verifyPassword(password, found?.passwordHash ?? dummyHash, { first: knownAddress });
            if (found && ok && needsRehash(found.passwordHash)) {
              // After the sign-in, not before it: one more hash, in the same turns as the others.
              void hashPassword(password)
                .then((to) => rehashPassword({ userId: found.id, from: found.passwordHash, to }))
                .catch((err: unknown) => console.error(`[auth] hashing a password again at PASSWORD_HASH_COST failed: ${(err as Error).message}`));
            }
            return found && ok ? found : null;
          });
          return user && { id: user.id, email: user.email, name: user.name, tokenVersion: user.tokenVersion };
        } catch (err) {
          // next-auth turns a thrown Error into `?error=<message>` for the page.
          if (err instanceof AppError) throw new Error(err.message);
          throw err;
        }
      },
    }),
  ],
  callbacks: {
    // Runs at sign-in (with `user`) and on every request that reads the session.
    async jwt({ token, user }) {
      if (user) return { ...token, sub: user.id, ver: user.tokenVersion ?? 0, sid: randomUUID() };
      if (!token.sub) return token;
      // A revoked token is re-issued empty: signed out on this device from now on.
      return (await tokenIsCurrent(token)) ? token : {};
    },
    session({ session, token }) {
      if (!token.sub) return { expires: session.expires };
      if (session.user) session.user.id = token.sub;
      return session;
    },
  },
  events: {
    // Plain sign-out ends this token only; "sign out everywhere" is POST /api/sessions/revoke.
    async signOut({ token }) {
      if (token) await revokeToken(token);
    },
  },
};
