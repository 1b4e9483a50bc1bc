"use client";

import { useEffect, useState, useSyncExternalStore } from "react";

export interface ModelHealth {
  status: "not loaded" | "loading" | "ready" | "error";
  progress?: number;
  error?: string;
  model?: { id?: string; name: string; vision: boolean; family?: string | null; audio?: boolean } | string;
  backend?: {
    backend: string;
    variant: string;
    variantReason: string;
    gpuLayers: number;
    contextSize?: number;
    maxImageTokens?: number;
    imageCost?: "family" | "fixed";
    /** The model hears audio (its projector has an audio encoder). */
    audio?: boolean;
  };
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

/**
 * The model's status from /api/health, polled until the model is ready (and
 * slowly afterwards); MODEL_CHANGED asks again now. One poll for the whole
 * page, however many components read it (the chat view, the composer).
 */
export function useModelHealth(): ModelHealth | null {
  return useSyncExternalStore(subscribeHealth, () => shared.health, () => null);
}

const shared: { health: ModelHealth | null; listeners: Set<() => void>; stop: (() => void) | null } = { health: null, listeners: new Set(), stop: null };

function subscribeHealth(onChange: () => void): () => void {
  shared.listeners.add(onChange);
  if (!shared.stop) startPolling();
  return () => {
    shared.listeners.delete(onChange);
    if (!shared.listeners.size) shared.stop?.();
  };
}

function startPolling() {
  let timer: ReturnType<typeof setTimeout>;
  let alive = true;
  const poll = async () => {
    clearTimeout(timer);
    try {
      const res = await fetch("/api/health", { cache: "no-store" });
      const body = (await res.json()) as { model: ModelHealth };
      if (!alive) return;
      shared.health = body.model;
      shared.listeners.forEach((l) => l());
      const upgrading = ["building", "waiting", "handing-over"].includes(body.model.engine?.upgrade?.state ?? "");
      timer = setTimeout(poll, body.model.status !== "ready" ? 1_000 : upgrading ? 5_000 : 30_000);
    } catch {
      if (alive) timer = setTimeout(poll, 3_000);
    }
  };
  void poll();
  window.addEventListener(MODEL_CHANGED, poll);
  shared.stop = () => {
    alive = false;
    clearTimeout(timer);
    window.removeEventListener(MODEL_CHANGED, poll);
    shared.stop = null;
  };
}

/** The kinds of file the chat takes. */
export const INPUT_KINDS = ["image", "video", "audio", "pdf", "data"] as const;
export type InputKind = (typeof INPUT_KINDS)[number];

/** How the loaded model takes one kind: as it is, turned into what it reads (frames, a spectrogram…), or not at all. */
export interface InputCapability {
  kind: InputKind;
  label: string;
  how: "native" | "converted" | "no";
  /** Said beside a kind that is converted or refused. */
  reason: string;
}

const KIND_LABEL: Record<InputKind, string> = { image: "images", video: "video", audio: "audio", pdf: "PDF", data: "tables" };

/**
 * What the loaded model can be given, from its status: a vision model sees
 * images, video as frames, PDF pages and charts of tables; audio goes in as
 * itself to a model that hears (`audio: true` in its status' backend),
 * and as a spectrogram to one that only sees (no speech model makes
 * transcripts yet). A text-only model takes none of them. While the
 * status is not known yet, everything is allowed (the server decides).
 */
export function modelInputs(health: ModelHealth | null): InputCapability[] {
  const model = health?.status === "ready" && typeof health.model === "object" ? health.model : null;
  const vision = model ? model.vision : true;
  const hears = model !== null && (model.audio === true || health?.backend?.audio === true);
  const name = model?.name ?? "This model";
  return INPUT_KINDS.map((kind): InputCapability => {
    const label = KIND_LABEL[kind];
    if (!vision && !(kind === "audio" && hears)) {
      return {
        kind,
        label,
        how: "no",
        reason: hears
          ? `${name} hears audio but can't see: it can't take images, video, PDFs or tables (a model is given each of them as images). Load a model that sees images for those.`
          : `${name} reads text only: it can't take images, video, audio, PDFs or tables (a model is given each of them as images). Load a model that sees images to attach files.`,
      };
    }
    switch (kind) {
      case "image":
        return { kind, label, how: "native", reason: "" };
      case "video":
        return { kind, label, how: "converted", reason: "It gets the video's frames, each with its time." };
      case "audio":
        return hears
          ? { kind, label, how: "native", reason: "" }
          : { kind, label, how: "converted", reason: "This model can't hear audio: it gets the audio's spectrogram, a picture of its sound, instead." };
      case "pdf":
        return { kind, label, how: "converted", reason: "It gets the pages as images and their text." };
      case "data":
        return { kind, label, how: "converted", reason: "It gets a chart and a summary of the table." };
    }
  });
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
