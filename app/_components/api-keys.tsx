"use client";

import { useEffect, useState } from "react";
import { ApiKeyUsage, type UsageTotals } from "./api-key-usage";

interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  tokensPerMinute: number | null;
  usage: { today: UsageTotals; last7Days: UsageTotals };
}

/** The server's maximum cap (app/api/keys/schema.ts). */
const MAX_TOKENS_PER_MINUTE = 10_000_000;

const when = (iso: string | null, never: string) => (iso ? new Date(iso).toLocaleString() : never);

/** Create, list and revoke keys for /v1. A new key's secret is shown once, here. */
export function ApiKeys() {
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [name, setName] = useState("");
  const [days, setDays] = useState("");
  const [cap, setCap] = useState("");
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  /** Bumped after every change, to load the list again. */
  const [version, setVersion] = useState(0);
  const load = () => setVersion((v) => v + 1);
  useEffect(() => {
    let alive = true;
    fetch("/api/keys", { cache: "no-store" })
      .then(async (res) => {
        if (!res.ok) throw new Error();
        const body = (await res.json()) as { keys: ApiKey[] };
        if (alive) setKeys(body.keys);
      })
      .catch(() => alive && setError("Could not load your keys."));
    return () => {
      alive = false;
    };
  }, [version]);

  async function create(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const expiresAt = days ? new Date(Date.now() + Number(days) * 86_400_000).toISOString() : null;
      const tokensPerMinute = cap ? Number(cap) : null;
      const res = await fetch("/api/keys", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name, expiresAt, tokensPerMinute }) });
      const body = await res.json();
      if (!res.ok) throw new Error(body.error?.message ?? "The key could not be created.");
      setSecret(body.secret);
      setName("");
      setDays("");
      setCap("");
      load();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  async function revoke(key: ApiKey) {
    if (!window.confirm(`Revoke "${key.name}"? Programs using it stop working at once.`)) return;
    const res = await fetch(`/api/keys/${key.id}`, { method: "DELETE" });
    if (!res.ok && res.status !== 404) setError("The key could not be revoked.");
    load();
  }

  return (
    <section className="api-keys" aria-labelledby="api-keys-title">
      <h2 id="api-keys-title">API keys</h2>
      <p className="muted">
        Any OpenAI client can use this model at this address followed by <code>/v1</code>, with one of these keys (the README has examples).
      </p>
      <form className="api-key-form" onSubmit={create}>
        <label>
          Name
          <input className="input" value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} placeholder="e.g. laptop script" />
        </label>
        <label>
          Expires after (days, optional)
          <input className="input" type="number" min={1} max={3650} value={days} onChange={(e) => setDays(e.target.value)} />
        </label>
        <label>
          Tokens per minute (optional)
          <input className="input" type="number" min={1} max={MAX_TOKENS_PER_MINUTE} value={cap} onChange={(e) => setCap(e.target.value)} placeholder="no cap" />
        </label>
        <button className="button button-primary" type="submit" disabled={busy || !name.trim()}>
          Create key
        </button>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {secret && (
        <div className="api-key-secret" role="status">
          <p>Copy this key now: it is not shown again.</p>
          <code data-testid="new-api-key">{secret}</code>{" "}
          <button type="button" className="button" onClick={() => void navigator.clipboard?.writeText(secret)}>
            Copy
          </button>{" "}
          <button type="button" className="button" onClick={() => setSecret(null)}>
            Done
          </button>
        </div>
      )}
      {keys && keys.length === 0 && <p className="muted">No keys yet.</p>}
      {keys && keys.length > 0 && (
        <table className="api-key-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Key</th>
              <th>Created</th>
              <th>Last used</th>
              <th>Expires</th>
              <th>Tokens per minute</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.id}>
                <td>{k.name}</td>
                <td>
                  <code>{k.prefix}…</code>
                </td>
                <td>{when(k.createdAt, "")}</td>
                <td>{when(k.lastUsedAt, "never")}</td>
                <td>{when(k.expiresAt, "never")}</td>
                <td>
                  <CapForm apiKey={k} onSaved={load} onError={setError} />
                </td>
                <td>
                  <button type="button" className="link-button danger" aria-label={`Revoke ${k.name}`} onClick={() => void revoke(k)}>
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {keys && keys.length > 0 && (
        <div className="api-key-usages">
          {keys.map((k) => (
            <ApiKeyUsage key={k.id} name={k.name} usage={k.usage} />
          ))}
        </div>
      )}
    </section>
  );
}

/** A key's tokens-per-minute cap, edited in place (empty = no cap). */
function CapForm({ apiKey, onSaved, onError }: { apiKey: ApiKey; onSaved: () => void; onError: (message: string) => void }) {
  const [value, setValue] = useState(apiKey.tokensPerMinute?.toString() ?? "");
  const [busy, setBusy] = useState(false);
  const changed = value !== (apiKey.tokensPerMinute?.toString() ?? "");

  async function save(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    try {
      const res = await fetch(`/api/keys/${apiKey.id}`, {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ tokensPerMinute: value ? Number(value) : null }),
      });
      if (!res.ok) throw new Error(((await res.json().catch(() => null)) as { error?: { message?: string } } | null)?.error?.message ?? "The cap could not be saved.");
      onSaved();
    } catch (err) {
      onError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="api-key-cap" onSubmit={save}>
      <input
        className="input"
        type="number"
        min={1}
        max={MAX_TOKENS_PER_MINUTE}
        value={value}
        onChange={(e) => setValue(e.target.value)}
        placeholder="no cap"
        aria-label={`Tokens per minute for ${apiKey.name}`}
      />
      <button type="submit" className="link-button" disabled={busy || !changed} aria-label={`Save the cap of ${apiKey.name}`}>
        Save
      </button>
    </form>
  );
}
