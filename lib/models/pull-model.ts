import fs from "node:fs";
import path from "node:path";
import { availableQuants, chooseFiles, modelParts, type HubFile } from "./choose-files";
import { downloadVerified } from "./download-file";
import { hubFromEnv, hubHeaders, listRepoFiles, resolveUrl, type HubAccess } from "./hub";
import { parseModelName } from "./model-name";
import { PullError } from "./pull-error";

export interface PullProgress {
  phase: "listing" | "downloading" | "verifying" | "installing";
  /** The file being transferred (its name in the repository). */
  file?: string;
  /** Bytes on disk over all files (resumed bytes included). */
  bytes: number;
  /** Bytes of all files, 0 until the listing is read. */
  total: number;
  /** Transfer speed over the last few seconds, bytes per second. */
  bytesPerSecond: number;
  /** Seconds left at that speed, or null while unknown. */
  etaSeconds: number | null;
}

export interface PullResult {
  repo: string;
  tag: string;
  /** The folder under MODELS_DIR that holds the pair. */
  dir: string;
  modelFile: string;
  /** The projector, or null: the repository has none and the model is text-only. */
  mmprojFile: string | null;
  textOnly: boolean;
  /** True when the files were already installed and nothing was downloaded. */
  alreadyInstalled: boolean;
  /** Bytes fetched in this run (less than the files' size after a resume). */
  bytesFetched: number;
  /** Whether every file matched the hub's SHA-256 (false only for files the hub lists without one). */
  verified: boolean;
}

/** What a pulled folder records about where its files came from (`pull.json`, ignored by the catalog). */
export interface PullRecord {
  repo: string;
  tag: string;
  endpoint: string;
  files: { name: string; path: string; size: number; sha256: string | null; role: "model" | "mmproj" }[];
  pulledAt: string;
}

export const PULL_RECORD = "pull.json";
/** Downloads in progress live here: a dot folder, which the catalog never scans. */
export const STAGING_DIR = ".pulls";

const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, "_");

/** Where a pull of `repo` at `tag` is installed: `<MODELS_DIR>/<owner>/<repo>/<tag>/`. */
export function installDir(modelsDir: string, repo: string, tag: string): string {
  const [owner, name] = repo.split("/") as [string, string];
  return path.join(modelsDir, safe(owner), safe(name), safe(tag));
}

function stagingDir(modelsDir: string, repo: string, tag: string): string {
  return path.join(modelsDir, STAGING_DIR, `${safe(repo.replace("/", "--"))}--${safe(tag)}`);
}

/** Takes `<dir>/.lock` for this process, or throws `busy` while a live process holds it. */
function lock(dir: string): () => void {
  const file = path.join(dir, ".lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: "wx" });
      return () => fs.rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const pid = Number(fs.readFileSync(file, "utf8"));
      let alive = false;
      try {
        alive = pid > 0 && (process.kill(pid, 0), true);
      } catch {
        alive = false;
      }
      if (alive) throw new PullError("busy", `This model is being pulled by another process (pid ${pid}).`);
      fs.rmSync(file, { force: true });
    }
  }
  throw new PullError("busy", "This model is being pulled by another process.");
}

function installed(dir: string, files: HubFile[]): boolean {
  try {
    const record = JSON.parse(fs.readFileSync(path.join(dir, PULL_RECORD), "utf8")) as PullRecord;
    return files.every((f) => record.files.some((r) => r.path === f.path && r.sha256 === f.sha256 && fs.statSync(path.join(dir, r.name)).size === f.size));
  } catch {
    return false;
  }
}

/** Bytes already downloaded for a file: whole, or partial (ipull's `.ipull`, its progress record included). */
function sizeIfThere(file: string): number {
  for (const f of [file, `${file}.ipull`]) if (fs.existsSync(f)) return fs.statSync(f).size;
  return 0;
}

/** Speed over a sliding window of a few seconds. */
function speedometer(windowMs = 5000) {
  const samples: [number, number][] = [];
  return (bytes: number) => {
    const now = Date.now();
    samples.push([now, bytes]);
    while (samples.length > 2 && now - samples[0]![0] > windowMs) samples.shift();
    const [t0, b0] = samples[0]!;
    return now > t0 ? ((bytes - b0) * 1000) / (now - t0) : 0;
  };
}

/**
 * Pulls `<owner>/<repo>[:<quant>]` into `modelsDir`: the language model and
 * the projector `llama-server -hf` would choose (choose-files.ts), each
 * checked against the hub's SHA-256, downloaded under `<modelsDir>/.pulls/`
 * and moved into `<modelsDir>/<owner>/<repo>/<tag>/` as one folder rename
 * once both are whole, so the catalog sees the pair at once or not at all.
 * Interrupted pulls resume from their partial files. Nothing is fetched
 * unless this is called: the app never downloads by itself.
 */
export async function pullModel({
  name,
  modelsDir,
  hub = hubFromEnv(),
  signal,
  onProgress,
  discardPartialOnCancel = false,
  chunkBytes,
}: {
  /** `<owner>/<repo>[:<quant>]`. */
  name: string;
  modelsDir: string;
  hub?: HubAccess;
  signal?: AbortSignal;
  onProgress?: (p: PullProgress) => void;
  /** Delete the partial files when cancelled (the Models page's Cancel). Default false: a later pull resumes. */
  discardPartialOnCancel?: boolean;
  /** Resume granularity in bytes (see downloadVerified). */
  chunkBytes?: number;
}): Promise<PullResult> {
  const { repo, quant } = parseModelName(name);
  onProgress?.({ phase: "listing", bytes: 0, total: 0, bytesPerSecond: 0, etaSeconds: null });
  const files = await listRepoFiles({ repo, hub, signal });
  const chosen = chooseFiles(files, quant);
  if (!chosen) {
    const quants = availableQuants(files);
    throw new PullError(
      "no_gguf",
      quants.length
        ? `${repo} has no ${quant} GGUF file. It offers: ${quants.join(", ")}.`
        : `${repo} has no GGUF language model (it lists ${files.length} file${files.length === 1 ? "" : "s"}).`,
    );
  }
  // A model split in parts (llama-gguf-split) is pulled whole: every part, installed together.
  const { parts, missing } = modelParts(files, chosen.model);
  if (missing.length) {
    throw new PullError("split_model", `${chosen.model.path} is part 1 of ${parts.length + missing.length}, but ${repo} does not list ${missing.join(", ")}.`);
  }
  const wanted = [...parts.map((file) => ({ file, role: "model" as const })), ...(chosen.mmproj ? [{ file: chosen.mmproj, role: "mmproj" as const }] : [])];
  const dest = installDir(modelsDir, repo, chosen.tag);
  const base = (p: string) => p.slice(p.lastIndexOf("/") + 1);
  const result = (alreadyInstalled: boolean, bytesFetched: number): PullResult => ({
    repo,
    tag: chosen.tag,
    dir: dest,
    modelFile: path.join(dest, base(chosen.model.path)),
    mmprojFile: chosen.mmproj ? path.join(dest, base(chosen.mmproj.path)) : null,
    textOnly: !chosen.mmproj,
    alreadyInstalled,
    bytesFetched,
    verified: wanted.every((w) => w.file.sha256 !== null),
  });
  if (installed(dest, wanted.map((w) => w.file))) return result(true, 0);

  const stage = stagingDir(modelsDir, repo, chosen.tag);
  fs.mkdirSync(stage, { recursive: true });
  const total = wanted.reduce((n, w) => n + w.file.size, 0);
  const onDisk = wanted.reduce((n, w) => n + sizeIfThere(path.join(stage, base(w.file.path))), 0);
  const { bavail, bsize } = fs.statfsSync(stage);
  if ((total - onDisk) * 1.01 > bavail * bsize) {
    throw new PullError("download", `${repo}:${chosen.tag} needs ${((total - onDisk) / 1e9).toFixed(1)} GB more, but the models folder's disk has ${((bavail * bsize) / 1e9).toFixed(1)} GB free.`);
  }
  const unlock = lock(stage);
  const speed = speedometer();
  let done = 0;
  let fetched = 0;
  try {
    for (const { file } of wanted) {
      let startedAt: number | null = null;
      let last = 0;
      await downloadVerified({
        url: resolveUrl(hub, repo, file.path),
        dest: path.join(stage, base(file.path)),
        size: file.size,
        sha256: file.sha256,
        headers: hubHeaders(hub),
        signal,
        chunkBytes,
        onProgress: ({ bytes }) => {
          startedAt ??= bytes;
          fetched += Math.max(0, bytes - Math.max(last, startedAt));
          last = Math.max(last, bytes);
          const now = done + bytes;
          const bps = speed(fetched);
          onProgress?.({ phase: "downloading", file: file.path, bytes: now, total, bytesPerSecond: bps, etaSeconds: bps > 0 ? Math.ceil((total - now) / bps) : null });
        },
      });
      done += file.size;
      onProgress?.({ phase: "verifying", file: file.path, bytes: done, total, bytesPerSecond: 0, etaSeconds: null });
    }
    onProgress?.({ phase: "installing", bytes: total, total, bytesPerSecond: 0, etaSeconds: 0 });
    const record: PullRecord = {
      repo,
      tag: chosen.tag,
      endpoint: hub.endpoint,
      files: wanted.map(({ file, role }) => ({ name: base(file.path), path: file.path, size: file.size, sha256: file.sha256, role })),
      pulledAt: new Date().toISOString(),
    };
    fs.writeFileSync(path.join(stage, PULL_RECORD), JSON.stringify(record, null, 2));
    for (const entry of fs.readdirSync(stage)) if (entry.endsWith(".oid")) fs.rmSync(path.join(stage, entry));
    unlock();
    install(stage, dest);
    return result(false, fetched);
  } catch (err) {
    unlock();
    if (err instanceof PullError && err.code === "cancelled" && discardPartialOnCancel) fs.rmSync(stage, { recursive: true, force: true });
    throw err;
  }
}

/** Moves the finished folder into place with renames only (same file system), replacing an older copy. */
function install(stage: string, dest: string) {
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  if (!fs.existsSync(dest)) {
    fs.renameSync(stage, dest);
    return;
  }
  const old = `${stage}.old-${Date.now()}`;
  fs.renameSync(dest, old);
  fs.renameSync(stage, dest);
  fs.rmSync(old, { recursive: true, force: true });
}
