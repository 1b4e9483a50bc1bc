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

/**
 * The process itself failed (it crashed, was killed, ran over its time
 * limit) or is resting after failures: nothing the request asked for was
 * at fault, so the caller may try the same work again later.
 */
export class BackgroundModelFailed extends Error {}

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
  /** Which process each pending request was sent to. */
  private readonly owner = new Map<number, ChildProcess>();
  private idleTimer: NodeJS.Timeout | null = null;
  private clock: NodeJS.Timeout | null = null;
  private readonly unsubscribe: () => void;
  private disposed = false;
  /** Why the model cannot load in this process (then `backgroundModel()` gives none). */
  broken: string | null = null;
  /** Consecutive process failures, and when the next start is allowed. */
  private failures = 0;
  private restAfterFailure = 0;
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
    if (this.broken) throw new BackgroundModelFailed(this.broken);
    if (Date.now() < this.restAfterFailure) throw new BackgroundModelFailed("The background model is resting after a failure.");
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    const child = this.start();
    const id = this.nextId++;
    const result = new Promise<string>((resolve, reject) => this.pending.set(id, { resolve, reject, ranMs: 0 }));
    this.owner.set(id, child);
    try {
      await this.ready;
      // Gone meanwhile: its exit already settled this request.
      if (this.child === child) child.send({ type: "generate", id, prompt, images, maxTokens });
    } catch (err) {
      this.settle(id, err as Error);
    }
    try {
      const text = await result;
      this.failures = 0;
      return text;
    } finally {
      if (!this.pending.size && this.child && !this.disposed) {
        if (this.idleTimer) clearTimeout(this.idleTimer);
        this.idleTimer = setTimeout(() => this.stop(), this.opts.idleExitMs ?? 60_000).unref();
      }
    }
  }

  private start(): ChildProcess {
    if (this.child) return this.child;
    endLeftover(this.opts.pidFile);
    const script = path.join(process.cwd(), "scripts", SCRIPT);
    // Every thread at the lowest priority: setpriority() inside the process would reach only the
    // thread that calls it, not the worker and compute threads the binding has or makes.
    // spawn with an IPC channel rather than fork: Turbopack resolves fork()'s path as a module
    // request and fails the build (vercel/next.js#97952).
    const [command, args] = NICE ? [NICE, ["-n", "19", process.execPath, script]] : [process.execPath, [script]];
    const child = spawn(command, args, {
      // Native code prints prompts at info level: read its output here and keep only warnings and errors.
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      serialization: "json",
    });
    this.child = child;
    this.frozen = false;
    this.loading = true;
    let loaded!: () => void;
    let failed!: (err: Error) => void;
    this.ready = new Promise<void>((resolve, reject) => {
      loaded = resolve;
      failed = reject;
    });
    this.ready.catch(() => {});
    process.on("exit", this.killOnExit);
    child.on("message", (msg: { type: string; id?: number; text?: string; message?: string }) => {
      if (this.child !== child) return;
      if (msg.type === "ready") {
        this.loading = false;
        loaded();
      } else if (msg.type === "result" && msg.id !== undefined) {
        this.settle(msg.id, null, msg.text ?? "");
      } else if (msg.type === "error" && msg.id !== undefined) {
        // This request's own failure (an image the binding could not read, say).
        this.settle(msg.id, new Error(`The background model failed: ${msg.message}`));
      } else if (msg.type === "error") {
        // The model did not load here: it never will in this process, so callers use the engine.
        this.broken = `The background model did not load: ${msg.message}`;
        console.warn(`[background-model] ${this.broken}; captions go to the engine instead`);
        failed(new BackgroundModelFailed(this.broken));
        this.stop();
      }
    });
    child.on("exit", (code, signal) => {
      process.off("exit", this.killOnExit);
      removePidFile(this.opts.pidFile, child.pid);
      if (this.child === child) this.detach();
      const why = this.disposed
        ? new BackgroundModelUnloaded()
        : new BackgroundModelFailed(`The background model process stopped (${signal ?? `exit code ${code}`}).`);
      failed(why);
      const mine = [...this.pending.keys()].filter((id) => this.owner.get(id) === child);
      if (mine.length && !this.disposed) {
        // It died with work in hand: rest before the next start, longer after each failure in a row.
        this.failures++;
        this.restAfterFailure = Date.now() + Math.min(5_000 * 2 ** (this.failures - 1), 300_000);
        console.warn(`[background-model] ${why.message}`);
      }
      for (const id of mine) this.settle(id, why);
    });
    child.on("error", (err) => console.warn(`[background-model] ${err.message}`));
    for (const stream of [child.stdout!, child.stderr!]) {
      readline.createInterface({ input: stream }).on("line", (line) => {
        const kept = nativeLogLine(line);
        if (kept) console.warn(`[background-model] ${kept}`);
      });
    }
    if (child.pid) {
      try {
        fs.mkdirSync(path.dirname(this.opts.pidFile), { recursive: true });
        fs.writeFileSync(this.opts.pidFile, `${child.pid} ${processStart(child.pid) ?? ""}`.trim(), { mode: 0o600 });
      } catch (err) {
        console.warn(`[background-model] could not record the pid: ${(err as Error).message}`);
      }
    }
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

  /** Forgets the current process (it is exiting or gone); a later request starts a new one. */
  private detach(): void {
    this.child = null;
    this.ready = null;
    this.loading = false;
    this.frozen = false;
    this.stopClock();
  }

  private settle(id: number, err: Error | null, text = ""): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    this.owner.delete(id);
    if (err) p.reject(err);
    else p.resolve(text);
  }

  /** Counts running time (not time frozen) against the request the process is working on; past the limit, the process is ended. */
  private startClock(): void {
    const TICK = 1000;
    this.clock = setInterval(() => {
      if (this.frozen || this.loading) return;
      const limit = this.opts.runLimitMs ?? 300_000;
      // Requests run one after another in the process, in the order sent.
      const head = this.pending.values().next().value;
      if (!head) return;
      head.ranMs += TICK;
      if (head.ranMs > limit) {
        console.warn(`[background-model] a generation ran over ${Math.round(limit / 1000)} s; ending the process`);
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
    this.detach();
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

/** The `nice` command, when there is one (coreutils; every Debian has it). */
const NICE = ["/usr/bin/nice", "/bin/nice"].find((p) => fs.existsSync(p));

/** When a process started, in clock ticks since boot (field 22 of /proc/<pid>/stat), to tell a reused pid apart. */
function processStart(pid: number): string | null {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

/** Removes the pid file if it still names this process (another instance may have written its own since). */
function removePidFile(pidFile: string, pid: number | undefined): void {
  try {
    if (pid && fs.readFileSync(pidFile, "utf8").split(" ")[0] === String(pid)) fs.rmSync(pidFile, { force: true });
  } catch {
    // Already gone.
  }
}

/**
 * Ends a background process a killed predecessor left behind (it may be
 * frozen, and so cannot notice its parent is gone): only the process the
 * pid file names, started when it says (a pid the system gave to another
 * program since is left alone), and only if its parent is gone.
 */
export function endLeftover(pidFile: string): void {
  let pid: number;
  let started: string | undefined;
  try {
    [pid, started] = fs.readFileSync(pidFile, "utf8").trim().split(" ").map((v, i) => (i === 0 ? Number(v) : v)) as [number, string | undefined];
  } catch {
    return;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    const sameProcess = (!started || stat[19] === started) && fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(SCRIPT);
    // Field 4: the parent. A live parent other than init means another app instance owns it.
    const parent = Number(stat[1]);
    const orphan = parent === 1 || parent === process.pid || !fs.existsSync(`/proc/${parent}`);
    if (pid > 0 && sameProcess && orphan) process.kill(pid, "SIGKILL");
    else if (sameProcess) return; // another instance's process: leave it and its pid file
  } catch {
    // Not running (or not Linux): nothing to end.
  }
  fs.rmSync(pidFile, { force: true });
}
