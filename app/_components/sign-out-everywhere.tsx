"use client";

import { signOut } from "next-auth/react";
import { useState } from "react";

/** Ends every session of this account (other browsers, copied cookies), then this one. */
export function SignOutEverywhere() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function signOutEverywhere() {
    setBusy(true);
    setError(null);
    const res = await fetch("/api/sessions", { method: "DELETE" }).catch(() => null);
    if (!res || (!res.ok && res.status !== 401)) {
      setBusy(false);
      setError("Could not sign out everywhere. Try again.");
      return;
    }
    await signOut({ callbackUrl: "/signin" });
  }

  return (
    <section className="sessions" aria-labelledby="sessions-title">
      <h2 id="sessions-title">Sessions</h2>
      <p className="muted">Signing out here ends this browser&apos;s session only. Sign out everywhere to end every session of this account, on every device.</p>
      <button className="button" type="button" disabled={busy} onClick={() => void signOutEverywhere()}>
        Sign out everywhere
      </button>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
