"use client";

import { useEffect, useState } from "react";
import styles from "./models-admin.module.css";

interface InstalledModel {
  id: string;
  name: string;
  architecture: string;
  parameters: number;
  fileType: string;
  sizeBytes: number;
  family: string | null;
  takes: string[];
  source: string | null;
  files: string[];
  removable: boolean;
  fit: { needBytes: number; fits: "vram" | "ram" | "no" };
}

interface Installed {
  models: InstalledModel[];
  problems: { file: string; message: string }[];
  memory: { ram: { totalBytes: number; availableBytes: number }; vram: { name: string; totalBytes: number; freeBytes: number } | null };
  contextSize: number;
  loaded: string | null;
}

interface PullJob {
  id: string;
  name: string;
  state: "running" | "done" | "error" | "cancelled";
  progress: { phase: string; file?: string; bytes: number; total: number; bytesPerSecond: number; etaSeconds: number | null };
  result?: { repo: string; tag: string; textOnly: boolean; alreadyInstalled: boolean; modelId: string; verified: boolean };
  error?: string;
}

const gb = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : `${(n / 1e6).toFixed(1)} MB`);
const clock = (s: number) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;
const params = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(1)} B` : `${(n / 1e6).toFixed(0)} M`);

async function call(url: string, init?: RequestInit & { json?: unknown }): Promise<{ ok: boolean; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    ...init,
    cache: "no-store",
    headers: init?.json !== undefined ? { "content-type": "application/json" } : undefined,
    body: init?.json !== undefined ? JSON.stringify(init.json) : undefined,
  }).catch(() => null);
  const body = ((await res?.json().catch(() => null)) ?? {}) as Record<string, unknown>;
  return { ok: !!res?.ok, body };
}
const errorOf = (body: Record<string, unknown>, fallback: string) => (body.error as { message?: string } | undefined)?.message ?? fallback;

function fitText(m: InstalledModel, memory: Installed["memory"]): string {
  if (m.fit.fits === "vram") return `fits in GPU memory (${memory.vram?.name}: needs ${gb(m.fit.needBytes)} of ${gb(memory.vram!.totalBytes)})`;
  if (m.fit.fits === "ram") return `fits in RAM (needs ${gb(m.fit.needBytes)} of ${gb(memory.ram.totalBytes)})${memory.vram ? "; partly on the GPU" : ""}`;
  return `too big for this machine (needs ${gb(m.fit.needBytes)}, RAM ${gb(memory.ram.totalBytes)})`;
}

/** The administrator's Models page: installed models, pull by name with progress and Cancel, Delete, Load. */
export function ModelsAdmin() {
  const [installed, setInstalled] = useState<Installed | null>(null);
  const [pulls, setPulls] = useState<PullJob[]>([]);
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const [tick, setTick] = useState(0);
  const refresh = () => setTick((t) => t + 1);
  const running = pulls.find((p) => p.state === "running");
  const pulling = running !== undefined;
  useEffect(() => {
    let alive = true;
    const load = async () => {
      const [i, p] = await Promise.all([call("/api/models/installed"), call("/api/models/pulls")]);
      if (!alive) return;
      if (i.ok) setInstalled(i.body as unknown as Installed);
      else setError(errorOf(i.body, "Could not read the models folder."));
      if (p.ok) setPulls((p.body.pulls as PullJob[]) ?? []);
    };
    void load();
    // Files copied into the models folder show up without a reload; faster while a pull runs.
    const timer = setInterval(() => void load(), pulling ? 700 : 5000);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, [pulling, tick]);

  async function pull(e: React.FormEvent) {
    e.preventDefault();
    setError(null);
    setNotice(null);
    const r = await call("/api/models/pulls", { method: "POST", json: { name } });
    if (!r.ok) return setError(errorOf(r.body, "Could not start the pull."));
    setName("");
    refresh();
  }

  async function act(url: string, method: string, json: unknown, done: string, fallback: string) {
    setError(null);
    setNotice(null);
    const r = await call(url, { method, json });
    if (!r.ok) setError(errorOf(r.body, fallback));
    else setNotice(done);
    refresh();
  }

  const last = pulls[0];
  return (
    <>
      <section className={styles.section} aria-labelledby="pull-heading">
        <h2 id="pull-heading">Pull a model by name</h2>
        <form className={styles.pullRow} onSubmit={pull}>
          <input
            aria-label="Model name"
            placeholder="owner/repo[:quant], e.g. ggml-org/Qwen2.5-VL-3B-Instruct-GGUF:Q4_K_M"
            value={name}
            onChange={(e) => setName(e.target.value)}
            disabled={!!running}
          />
          <button type="submit" className="button button-primary" disabled={!!running || !name.trim()}>
            Pull
          </button>
        </form>
        <p className={styles.muted}>
          From Hugging Face (or the mirror in HF_ENDPOINT; HF_TOKEN for gated repositories): the quant named, else Q4_K_M, else Q8_0, with its vision projector. Nothing is
          downloaded unless you pull it here or with <code>npm run models:pull</code>.
        </p>
        {running && (
          <div className={styles.progress} role="status" aria-live="polite">
            <span>{running.name}</span>
            <progress aria-label="Pull progress" max={running.progress.total || 1} value={running.progress.bytes} />
            <span data-testid="pull-progress">
              {running.progress.phase === "listing"
                ? "listing files…"
                : `${running.progress.total ? Math.floor((running.progress.bytes / running.progress.total) * 100) : 0}% · ${gb(running.progress.bytes)} / ${gb(running.progress.total)} · ${gb(running.progress.bytesPerSecond)}/s${running.progress.etaSeconds !== null ? ` · ${clock(running.progress.etaSeconds)} left` : ""}`}
            </span>
            <button type="button" className="button" onClick={() => act(`/api/models/pulls/${running.id}`, "DELETE", undefined, "Pull cancelled; its partial files were deleted.", "Could not cancel.")}>
              Cancel
            </button>
          </div>
        )}
        {!running && last?.state === "done" && last.result && (
          <p role="status">
            {last.result.alreadyInstalled ? "Already installed: " : "Installed "}
            {last.result.repo}:{last.result.tag}
            {last.result.textOnly ? " — this repository has no vision projector (mmproj), so the model is text-only." : " with its vision projector."}
          </p>
        )}
        {!running && (last?.state === "error" || last?.state === "cancelled") && (
          <p className={last.state === "error" ? "error" : styles.muted} role="alert">
            {last.name}: {last.error}
          </p>
        )}
      </section>

      <section className={styles.section} aria-labelledby="installed-heading">
        <h2 id="installed-heading">Installed</h2>
        {notice && <p role="status">{notice}</p>}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        {installed && (
          <>
            <p className={styles.muted}>
              Fit at the configured context of {installed.contextSize} tokens. This machine: {gb(installed.memory.ram.totalBytes)} RAM
              {installed.memory.vram ? `, ${installed.memory.vram.name} with ${gb(installed.memory.vram.totalBytes)}` : ", no GPU found"}.
            </p>
            {installed.models.length === 0 ? (
              <p>No models yet. Pull one above, or copy GGUF files into the models folder.</p>
            ) : (
              <table className={styles.table}>
                <thead>
                  <tr>
                    <th>Model</th>
                    <th>Takes</th>
                    <th>Size</th>
                    <th>Fits</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {installed.models.map((m) => (
                    <tr key={m.id} data-testid={`model-${m.id}`}>
                      <td>
                        <strong>{m.name}</strong>
                        <div className={styles.muted}>
                          {m.id} · {m.architecture} · {params(m.parameters)} · {m.fileType}
                          {m.family ? ` · ${m.family}` : ""}
                          {m.source ? ` · from ${m.source}` : ""}
                        </div>
                      </td>
                      <td>
                        {m.takes.map((t) => (
                          <span key={t} className={styles.badge}>
                            {t}
                          </span>
                        ))}
                      </td>
                      <td>{gb(m.sizeBytes)}</td>
                      <td className={m.fit.fits === "no" ? styles.no : undefined}>{fitText(m, installed.memory)}</td>
                      <td>
                        {installed.loaded === m.id ? (
                          <span className={styles.badge}>loaded</span>
                        ) : (
                          <>
                            <button type="button" className="button" onClick={() => act("/api/models", "POST", { id: m.id }, `Loading ${m.name}; the badge shows when it is ready.`, "Could not load it.")}>
                              Load
                            </button>{" "}
                            {m.removable && (
                              <button
                                type="button"
                                className="button"
                                onClick={() => window.confirm(`Delete ${m.files.join(" and ")}?`) && act(`/api/models/installed/${encodeURIComponent(m.id)}`, "DELETE", undefined, `Deleted ${m.name}.`, "Could not delete it.")}
                              >
                                Delete
                              </button>
                            )}
                          </>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            {installed.problems.length > 0 && (
              <>
                <h3>Skipped files</h3>
                <ul>
                  {installed.problems.map((p) => (
                    <li key={p.file}>
                      <code>{p.file}</code>: {p.message}
                    </li>
                  ))}
                </ul>
              </>
            )}
          </>
        )}
      </section>
    </>
  );
}
