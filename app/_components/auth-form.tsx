"use client";

import Link from "next/link";
import { signIn } from "next-auth/react";
import { useState } from "react";
import { clearDrafts } from "./events";

/** Sign-in and sign-up share one form: sign-up creates the account, then signs in. */
export function AuthForm({ mode }: { mode: "signin" | "signup" }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = String(form.get("email") ?? "");
    const password = String(form.get("password") ?? "");
    setBusy(true);
    setError(null);
    try {
      if (mode === "signup") {
        const res = await fetch("/api/signup", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email, password, name: String(form.get("name") ?? "") || undefined }),
        });
        if (!res.ok) {
          const body = await res.json().catch(() => null);
          throw new Error(body?.error?.message ?? `Sign-up failed (${res.status}).`);
        }
      }
      const result = await signIn("credentials", { email, password, redirect: false });
      if (!result?.ok) {
        throw new Error(
          result?.error && result.error !== "CredentialsSignin" ? result.error : "Wrong email or password.",
        );
      }
      // A full load: the app starts clean with the new session, and no late refresh of the
      // sign-in flow can land on a chat already started (it would remount it and lose the draft).
      clearDrafts();
      window.location.replace("/");
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  }

  const signup = mode === "signup";
  return (
    <form className="auth-card" onSubmit={onSubmit} aria-label={signup ? "Sign up" : "Sign in"}>
      <h1>{signup ? "Create your account" : "Sign in"}</h1>
      <p className="muted">Everything stays on this machine: your images, your conversations, the model.</p>
      {signup && (
        <label className="field">
          Name (optional)
          <input name="name" autoComplete="name" maxLength={100} />
        </label>
      )}
      <label className="field">
        Email
        <input name="email" type="email" autoComplete="email" required />
      </label>
      <label className="field">
        Password
        <input
          name="password"
          type="password"
          autoComplete={signup ? "new-password" : "current-password"}
          minLength={signup ? 8 : undefined}
          required
        />
      </label>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <button className="button button-primary" type="submit" disabled={busy}>
        {busy ? "Please wait…" : signup ? "Sign up" : "Sign in"}
      </button>
      <p className="muted">
        {signup ? (
          <>
            Already have an account? <Link href="/signin">Sign in</Link>
          </>
        ) : (
          <>
            New here? <Link href="/signup">Create an account</Link>
          </>
        )}
      </p>
    </form>
  );
}
