import "server-only";
import type { NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { getUserCredentialsByEmail } from "@/lib/db/users";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { clientIp } from "./client-ip";
import { dummyHash, verifyPassword } from "./password";
import { limitSignIn, resetSignInLimit } from "./rate-limit";
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
          await limitSignIn({ ip: clientIp(req?.headers?.["x-forwarded-for"]), email });
        } catch (err) {
          // next-auth turns a thrown Error into `?error=<message>` for the page.
          if (err instanceof AppError) throw new Error(err.message);
          throw err;
        }
        const user = await getUserCredentialsByEmail({ email });
        const ok = await verifyPassword(password, user?.passwordHash ?? dummyHash);
        if (!user || !ok) return null;
        await resetSignInLimit({ email });
        return { id: user.id, email: user.email, name: user.name };
      },
    }),
  ],
  callbacks: {
    jwt({ token, user }) {
      if (user) token.sub = user.id;
      return token;
    },
    session({ session, token }) {
      if (session.user && token.sub) session.user.id = token.sub;
      return session;
    },
  },
};
