"use client";

import { signOut } from "next-auth/react";
import { clearDrafts } from "./events";

export function SignOutButton() {
  return (
    <button className="button" type="button" onClick={() => {
        clearDrafts();
        void signOut({ callbackUrl: "/signin" });
      }}>
      Sign out
    </button>
  );
}
