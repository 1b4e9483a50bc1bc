import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { nativeLogLine } from "../logging/native-log-filter";

/**
 * What the background model needs to know of the engine: whether any answer
 * is running or waiting, and when that changes (called synchronously, before
 * the answer's own work starts).
 */
export interface EngineActivity {
  isBusy(): boolean;
  onChange(listener: (busy: boolean) => void): () => void;
}

export interface BackgroundModelOptions {
  modelPath: string;
  mmprojPath?: string;
  /** Context cells of the background process's one sequence. */
  contextSize: number;
  threads: number;
  /** Where the process's pid is kept, so a restarted app can end one its killed predecessor left frozen. */
  pidFile: string;
  /** The process exits after this long (ms) without work; the next request starts it again. Default 60 s. */
  idleExitMs?: number;
  /** Running time (not counting time frozen) one generation may take, in ms. Default 5 min. */
  runLimitMs?: number;
}

/** The engine was unloaded (or switched models) while a generation waited or ran. */
export class BackgroundModelUnloaded extends Error {
  constructor() {
    super("The model was unloaded.");
  }
}

export type BackgroundState = "stopped" | "loading" | "idle" | "working" | "frozen";

const SCRIPT = "background-model.mjs";

interface Pending {
  resolve: (text: string) => void;
  reject: (err: Error) => void;
  ranMs: number;
}

/**
 * Low-priority generations of the loaded model — image captions — in a
 * process of their own (scripts/background-model.mjs, CPU only, nice 19).
 *
 * The point is the freeze: llama.cpp cannot interrupt an image encoding or a
 * prompt batch once it has started, so background work that shares the
 * engine holds up an answer that arrives meanwhile (a caption's image took
 * 125 ms on the demo model, while a whole answer takes ~170 ms). Here, the
 * moment an answer takes a slot or waits for one, the process is stopped
 * with SIGSTOP, wherever it is in native code, and it goes on with SIGCONT
 * once the engine is idle: the answer never shares the CPU with it, and no
 * background work is thrown away.
 *
 * Only on POSIX systems; `BackgroundModel.supported` says whether this one is.
 */
export class BackgroundModel {
  static readonly supported = process.platform !== "win32";

  private child: ChildProcess | null = null;
  private ready: Promise<void> | null = null;
  private loading = false;
  private frozen = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private idleTimer: NodeJS.Timeout | null = null;
  private clock: NodeJS.Timeout | null = null;
  private readonly unsubscribe: () => void;
  private disposed = false;
  private killOnExit = () => this.child?.kill("SIGKILL");

  constructor(
    private readonly opts: BackgroundModelOptions,
    private readonly activity: EngineActivity,
  ) {
    this.unsubscribe = activity.onChange((busy) => (busy ? this.freeze() : this.thaw()));
  }

  get state(): BackgroundState {
    if (!this.child) return "stopped";
    if (this.frozen) return "frozen";
    if (this.loading) return "loading";
    return this.pending.size ? "working" : "idle";
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Generates at temperature 0 from a rendered prompt (images as file paths,
   * in marker order). Waits, frozen, while answers run; rejects if the
   * process fails or the generation runs longer than `runLimitMs`.
   */
  async generate({ prompt, images, maxTokens }: { prompt: string; images: string[]; maxTokens: number }): Promise<string> {
    if (this.disposed) throw new BackgroundModelUnloaded();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    const child = this.start();
    const id = this.nextId++;
    const result = new Promise<string>((resolve, reject) => this.pending.set(id, { resolve, reject, ranMs: 0 }));
    try {
      await this.ready;
      child.send({ type: "generate", id, prompt, images, maxTokens });
    } catch (err) {
      this.settle(id, err as Error);
    }
    try {
      return await result;
    } finally {
      if (!this.pending.size && this.child && !this.disposed) {
        this.idleTimer = setTimeout(() => this.stop(), this.opts.idleExitMs ?? 60_000).unref();
      }
    }
  }

  private start(): ChildProcess {
    if (this.child) return this.child;
    endLeftover(this.opts.pidFile);
    // spawn with an IPC channel rather than fork: Turbopack resolves fork()'s path as a module
    // request and fails the build (vercel/next.js#97952).
    const child = spawn(process.execPath, [path.join(process.cwd(), "scripts", SCRIPT)], {
      // Native code prints prompts at info level: read its output here and keep only warnings and errors.
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      serialization: "json",
    });
    this.child = child;
    this.frozen = false;
    this.loading = true;
    process.on("exit", this.killOnExit);
    if (child.pid) {
      fs.mkdirSync(path.dirname(this.opts.pidFile), { recursive: true });
      fs.writeFileSync(this.opts.pidFile, String(child.pid), { mode: 0o600 });
    }
    for (const stream of [child.stdout!, child.stderr!]) {
      readline.createInterface({ input: stream }).on("line", (line) => {
        const kept = nativeLogLine(line);
        if (kept) console.warn(`[background-model] ${kept}`);
      });
    }
    let loaded!: () => void;
    let failed!: (err: Error) => void;
    this.ready = new Promise<void>((resolve, reject) => {
      loaded = resolve;
      failed = reject;
    });
    this.ready.catch(() => {});
    child.on("message", (msg: { type: string; id?: number; text?: string; message?: string }) => {
      if (msg.type === "ready") {
        this.loading = false;
        loaded();
      } else if (msg.type === "result" && msg.id !== undefined) {
        this.settle(msg.id, null, msg.text ?? "");
      } else if (msg.type === "error") {
        const err = new Error(`The background model failed: ${msg.message}`);
        if (msg.id !== undefined) this.settle(msg.id, err);
        else {
          failed(err);
          this.stop();
        }
      }
    });
    child.on("exit", (code, signal) => {
      if (this.child !== child) return;
      this.child = null;
      this.ready = null;
      this.loading = false;
      this.frozen = false;
      process.off("exit", this.killOnExit);
      this.stopClock();
      const why = this.disposed ? new BackgroundModelUnloaded() : new Error(`The background model process stopped (${signal ?? `exit code ${code}`}).`);
      failed(why);
      for (const id of [...this.pending.keys()]) this.settle(id, why);
      fs.rmSync(this.opts.pidFile, { force: true });
    });
    child.on("error", (err) => console.warn(`[background-model] ${err.message}`));
    child.send({
      type: "load",
      model: this.opts.modelPath,
      mmproj: this.opts.mmprojPath,
      contextSize: this.opts.contextSize,
      threads: this.opts.threads,
    });
    if (this.activity.isBusy()) this.freeze();
    this.startClock();
    return child;
  }

  private settle(id: number, err: Error | null, text = ""): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (err) p.reject(err);
    else p.resolve(text);
  }

  /** Counts only running time against each request's limit; a request past it ends the process. */
  private startClock(): void {
    const TICK = 1000;
    this.clock = setInterval(() => {
      if (this.frozen || this.loading) return;
      const limit = this.opts.runLimitMs ?? 300_000;
      for (const p of this.pending.values()) p.ranMs += TICK;
      if ([...this.pending.values()].some((p) => p.ranMs > limit)) {
        console.warn(`[background-model] a generation ran over ${Math.round(limit / 1000)} s; restarting the process`);
        this.child?.kill("SIGKILL");
      }
    }, TICK).unref();
  }

  private stopClock(): void {
    if (this.clock) clearInterval(this.clock);
    this.clock = null;
  }

  private freeze(): void {
    if (!this.child?.pid || this.frozen) return;
    try {
      process.kill(this.child.pid, "SIGSTOP");
      this.frozen = true;
    } catch {
      // Already gone: its exit handler cleans up.
    }
  }

  private thaw(): void {
    if (!this.child?.pid || !this.frozen) return;
    try {
      process.kill(this.child.pid, "SIGCONT");
    } catch {
      // Already gone.
    }
    this.frozen = false;
  }

  /** Ends the process (it starts again on the next request). */
  private stop(): void {
    const child = this.child;
    if (!child) return;
    this.thaw();
    // Closing the channel lets it exit by itself; SIGKILL if it does not within 2 s.
    if (child.connected) child.disconnect();
    setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"), 2000).unref();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.unsubscribe();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const child = this.child;
    if (child) {
      child.kill("SIGKILL");
      this.thaw();
    }
  }
}

/** Ends a background process a killed predecessor left behind (it may be frozen, and so cannot notice its parent is gone). */
function endLeftover(pidFile: string): void {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, "utf8"));
  } catch {
    return;
  }
  try {
    if (pid > 0 && fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(SCRIPT)) process.kill(pid, "SIGKILL");
  } catch {
    // Not running (or not Linux): nothing to end.
  }
  fs.rmSync(pidFile, { force: true });
}
