import "server-only";
import { randomUUID } from "node:crypto";
import { parseModelName } from "./model-name";
import { pullModel, type PullProgress, type PullResult } from "./pull-model";
import { PullError } from "./pull-error";

/** A pull started from the Models page, as the page polls it. */
export interface PullJob {
  id: string;
  name: string;
  state: "running" | "done" | "error" | "cancelled";
  progress: PullProgress;
  /** On success: the pair installed (paths relative to the models folder are not exposed). */
  result?: Pick<PullResult, "repo" | "tag" | "textOnly" | "alreadyInstalled" | "bytesFetched" | "verified"> & { modelId: string };
  /** On error: why, in plain words. */
  error?: string;
  startedAt: string;
  finishedAt?: string;
}

type Held = { job: PullJob; stop: AbortController };
const jobs = ((globalThis as { __pullJobs?: Map<string, Held> }).__pullJobs ??= new Map());

/** Pulls, newest first (the last 10). */
export function listPulls(): PullJob[] {
  return [...jobs.values()].map((h) => h.job).reverse();
}

/**
 * Starts pulling `name` into `modelsDir` in the background; the Models page
 * polls `listPulls()`. One pull at a time per server: a second is refused
 * while one runs (they would share the disk and the line).
 */
export function startPull({ name, modelsDir }: { name: string; modelsDir: string }): PullJob {
  parseModelName(name);
  if ([...jobs.values()].some((h) => h.job.state === "running")) throw new PullError("busy", "A model is being pulled. Wait for it or cancel it first.");
  const stop = new AbortController();
  const job: PullJob = { id: randomUUID(), name: name.trim(), state: "running", progress: { phase: "listing", bytes: 0, total: 0, bytesPerSecond: 0, etaSeconds: null }, startedAt: new Date().toISOString() };
  jobs.set(job.id, { job, stop });
  while (jobs.size > 10) jobs.delete(jobs.keys().next().value!);
  pullModel({ name, modelsDir, signal: stop.signal, discardPartialOnCancel: true, onProgress: (p) => (job.progress = p) }).then(
    (r) => {
      job.state = "done";
      job.result = { repo: r.repo, tag: r.tag, textOnly: r.textOnly, alreadyInstalled: r.alreadyInstalled, bytesFetched: r.bytesFetched, verified: r.verified, modelId: r.modelFile.split("/").pop()!.replace(/\.gguf$/i, "") };
      job.finishedAt = new Date().toISOString();
    },
    (err: unknown) => {
      job.state = err instanceof PullError && err.code === "cancelled" ? "cancelled" : "error";
      job.error = err instanceof PullError ? err.message : `The pull failed: ${(err as Error).message}`;
      job.finishedAt = new Date().toISOString();
    },
  );
  return job;
}

/** Cancels a running pull (its partial files are deleted); false when there is no such running pull. */
export function cancelPull(id: string): boolean {
  const held = jobs.get(id);
  if (!held || held.job.state !== "running") return false;
  held.stop.abort();
  return true;
}
