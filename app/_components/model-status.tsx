"use client";

import { useEffect, useState } from "react";

export interface ModelHealth {
  status: "not loaded" | "loading" | "ready" | "error";
  progress?: number;
  error?: string;
  model?: { id?: string; name: string; vision: boolean; family?: string | null } | string;
  backend?: { backend: string; variant: string; variantReason: string; gpuLayers: number; contextSize?: number; maxImageTokens?: number; imageCost?: "family" | "fixed" };
  engine?: {
    kind: "in-process" | "llama-server" | "remote";
    reason: string;
    /** The background llama-server build (ENGINE=auto with none built) and the hand-over to it. */
    upgrade?: { state: "building" | "waiting" | "handing-over" | "done" | "failed"; percent: number | null; etaSeconds: number | null; reason?: string };
  };
  servers?: { up: number; total: number };
}

/** "llama-server · cuda, 33 GPU layers" — where the model runs, for the badge. */
function engineLabel(h: ModelHealth): string {
  const where = h.engine?.kind ?? "in-process";
  const b = h.backend;
  if (where === "remote") return `remote · ${h.servers?.up ?? 0}/${h.servers?.total ?? 0} servers up`;
  const hw = b ? (b.gpuLayers > 0 ? `${b.variant}, ${b.gpuLayers} GPU layers` : "CPU") : "";
  return [where, hw, upgradeLabel(h)].filter(Boolean).join(" · ");
}

/** "building llama-server 40%, ~6 min left" while the background build runs. */
function upgradeLabel(h: ModelHealth): string {
  const u = h.engine?.upgrade;
  if (!u || u.state === "done") return "";
  if (u.state === "failed") return "llama-server build failed";
  if (u.state === "waiting") return "llama-server being built by another instance";
  if (u.state === "handing-over") return "moving to llama-server…";
  const left = u.etaSeconds !== null ? `, ~${Math.max(1, Math.round(u.etaSeconds / 60))} min left` : "";
  return `building llama-server${u.percent !== null ? ` ${u.percent}%` : ""}${left}`;
}

/** Polls /api/health until the model is ready (and slowly afterwards); `poke` asks again now. */
export function useModelHealth(): ModelHealth | null {
  const [health, setHealth] = useState<ModelHealth | null>(null);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout>;
    let alive = true;
    const poll = async () => {
      clearTimeout(timer);
      try {
        const res = await fetch("/api/health", { cache: "no-store" });
        const body = (await res.json()) as { model: ModelHealth };
        if (alive) setHealth(body.model);
        const upgrading = ["building", "waiting", "handing-over"].includes(body.model.engine?.upgrade?.state ?? "");
        timer = setTimeout(poll, body.model.status !== "ready" ? 1_000 : upgrading ? 5_000 : 30_000);
      } catch {
        timer = setTimeout(poll, 3_000);
      }
    };
    void poll();
    window.addEventListener(MODEL_CHANGED, poll);
    return () => {
      alive = false;
      clearTimeout(timer);
      window.removeEventListener(MODEL_CHANGED, poll);
    };
  }, []);
  return health;
}

const MODEL_CHANGED = "lvc:model-changed";

interface CatalogEntry {
  id: string;
  name: string;
  vision: boolean;
  family: string | null;
}

/**
 * Picks the model when the catalog holds several, for whoever may change it
 * (ADMIN_EMAILS; by default the first account). The switch is for the whole
 * server and is refused while answers are being written.
 */
export function ModelPicker({ health, disabled }: { health: ModelHealth | null; disabled: boolean }) {
  const [catalog, setCatalog] = useState<{ models: CatalogEntry[]; canSwitch: boolean }>({ models: [], canSwitch: false });
  const [choice, setChoice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let alive = true;
    fetch("/api/models", { cache: "no-store" })
      .then(async (res) => res.ok && alive && setCatalog((await res.json()) as { models: CatalogEntry[]; canSwitch: boolean }))
      .catch(() => {});
    return () => {
      alive = false;
    };
  }, []);
  if (!catalog.canSwitch) return null;
  // The administrator's Models page: pull, delete, load, and what fits this machine.
  const manage = (
    <a className="header-link small" href="/models">
      Models
    </a>
  );
  if (catalog.models.length < 2) return <span className="model-picker">{manage}</span>;
  const loadedId = health?.status === "ready" && typeof health.model === "object" ? health.model.id : undefined;
  const selected = choice ?? loadedId ?? "";
  const loading = health?.status === "loading";

  async function load() {
    setError(null);
    const res = await fetch("/api/models", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ id: selected }) }).catch(() => null);
    if (!res?.ok) setError(((await res?.json().catch(() => null)) as { error?: { message?: string } } | null)?.error?.message ?? "Could not switch the model.");
    else setChoice(null);
    window.dispatchEvent(new Event(MODEL_CHANGED));
  }

  return (
    <span className="model-picker">
      <select aria-label="Model" value={selected} disabled={disabled || loading} onChange={(e) => setChoice(e.target.value)}>
        {!selected && <option value="">Choose a model…</option>}
        {catalog.models.map((m) => (
          <option key={m.id} value={m.id}>
            {m.name} · {m.vision ? (m.family ? `${m.family}, sees images` : "sees images") : "text only"}
          </option>
        ))}
      </select>
      {selected && selected !== loadedId && !loading && (
        <button type="button" className="button header-button" disabled={disabled} onClick={load}>
          Load
        </button>
      )}
      {error && (
        <span className="error small" role="alert">
          {error}
        </span>
      )}{" "}
      {manage}
    </span>
  );
}

export function ModelStatus({ health }: { health: ModelHealth | null }) {
  if (!health) return <span className="model-status muted">Checking the model…</span>;
  if (health.status === "ready" && typeof health.model === "object") {
    return (
      <span
        className="model-status"
        title={`${health.engine?.reason ?? ""}\n${health.backend?.backend} · ${health.backend?.variant} · ${health.backend?.variantReason}${health.engine?.upgrade?.reason ? `\n${health.engine.upgrade.reason}` : ""}`}
      >
        <strong>{health.model.name}</strong>{" "}
        <span className={health.model.vision ? "badge badge-ok" : "badge"}>{health.model.vision ? "sees images" : "text only"}</span>{" "}
        {health.model.family && (
          <>
            <span
              className="badge"
              data-testid="family-badge"
              title={`Model family (from the vision projector)${health.backend?.maxImageTokens ? `; images costing more than ${health.backend.maxImageTokens} tokens are downscaled to fit` : ""}`}
            >
              {health.model.family}
            </span>{" "}
          </>
        )}
        <span className="badge" data-testid="engine-badge">
          {engineLabel(health)}
        </span>
      </span>
    );
  }
  if (health.status === "error") {
    return (
      <span className="model-status error" role="status">
        Model failed to load: {health.error}
      </span>
    );
  }
  if (health.status === "not loaded") {
    // ENGINE_PRELOAD=false: nothing loads until someone asks.
    return <span className="model-status muted">The model loads when you send the first message.</span>;
  }
  const pct = Math.round((health.progress ?? 0) * 100);
  return (
    <span className="model-status" role="status">
      Loading the model… <progress max={100} value={pct} aria-label="Model loading progress" /> {pct}%
    </span>
  );
}
