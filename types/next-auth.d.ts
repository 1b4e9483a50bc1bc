import type { DefaultSession } from "next-auth";

declare module "next-auth" {
  interface Session {
    user?: DefaultSession["user"] & { id: string };
  }
  interface User {
    /** The user's session token version at sign-in. */
    tokenVersion?: number;
  }
}

declare module "next-auth/jwt" {
  interface JWT {
    /** The user's token version when this token was issued (see lib/auth/revocation.ts). */
    ver?: number;
    /** Session id: the same across re-issued tokens of one sign-in; recorded at sign-out. */
    sid?: string;
  }
}
