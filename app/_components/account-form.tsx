"use client";

import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { ThemeSwitch } from "./theme";

async function errorOf(res: Response | null, fallback: string): Promise<string> {
  if (!res) return "Can’t reach the server.";
  const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
  return body?.error?.message ?? fallback;
}

/** The account's display name (shown in the sidebar), its theme and its password. */
export function AccountForm({ email, name: initialName }: { email: string; name: string | null }) {
  const router = useRouter();
  const [name, setName] = useState(initialName ?? "");
  const [nameStatus, setNameStatus] = useState<{ ok: boolean; text: string } | null>(null);
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [passwordStatus, setPasswordStatus] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  async function saveName(e: FormEvent) {
    e.preventDefault();
    setNameStatus(null);
    const res = await fetch("/api/account", { method: "PATCH", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: name.trim() || null }) }).catch(() => null);
    if (!res?.ok) return setNameStatus({ ok: false, text: await errorOf(res, "Could not save the name.") });
    setNameStatus({ ok: true, text: "Saved." });
    // The sidebar's footer shows the name: read it again.
    router.refresh();
  }

  async function changePassword(e: FormEvent) {
    e.preventDefault();
    setPasswordStatus(null);
    if (next !== again) return setPasswordStatus({ ok: false, text: "The new password and its repetition differ." });
    setBusy(true);
    const res = await fetch("/api/account/password", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ currentPassword: current, newPassword: next }),
    }).catch(() => null);
    setBusy(false);
    if (!res?.ok) return setPasswordStatus({ ok: false, text: await errorOf(res, "Could not change the password.") });
    setCurrent("");
    setNext("");
    setAgain("");
    setPasswordStatus({ ok: true, text: "Password changed. Every other session of this account is signed out." });
  }

  return (
    <section className="account" aria-labelledby="account-title">
      <h2 id="account-title">Account</h2>
      <p className="muted">
        Signed in as <strong>{email}</strong>.
      </p>
      <form className="account-form" onSubmit={saveName}>
        <label>
          Display name
          <input className="input" value={name} maxLength={100} placeholder={email} onChange={(e) => setName(e.target.value)} />
        </label>
        <button className="button" type="submit">
          Save name
        </button>
        {nameStatus && (
          <p className={nameStatus.ok ? "muted" : "error"} role={nameStatus.ok ? "status" : "alert"}>
            {nameStatus.text}
          </p>
        )}
      </form>
      <ThemeSwitch />
      <form className="account-form" onSubmit={changePassword} aria-labelledby="password-title">
        <h3 id="password-title">Change password</h3>
        <label>
          Current password
          <input className="input" type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} />
        </label>
        <label>
          New password
          <input className="input" type="password" autoComplete="new-password" required minLength={8} maxLength={200} value={next} onChange={(e) => setNext(e.target.value)} />
        </label>
        <label>
          New password, again
          <input className="input" type="password" autoComplete="new-password" required minLength={8} maxLength={200} value={again} onChange={(e) => setAgain(e.target.value)} />
        </label>
        <button className="button" type="submit" disabled={busy}>
          Change password
        </button>
        {passwordStatus && (
          <p className={passwordStatus.ok ? "muted" : "error"} role={passwordStatus.ok ? "status" : "alert"}>
            {passwordStatus.text}
          </p>
        )}
        <p className="muted small">Changing it signs out every other session of this account; this one stays signed in.</p>
      </form>
    </section>
  );
}
