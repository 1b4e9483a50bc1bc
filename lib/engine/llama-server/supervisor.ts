import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import { EngineError } from "../errors";
import { gpuLibraryDirs, parseOffloadLog, probeGpu, serverGpuEnv, serverOffload } from "../gpu";

export interface SupervisorOptions {
  /** The llama-server executable. */
  binary: string;
  modelPath: string;
  mmprojPath?: string;
  /**
   * LoRA adapters to load (`--lora`, in this order: a request's `lora` ids
   * are indexes into it), all at scale 0 until a request names them
   * (`--lora-init-without-apply`). Default none.
   */
  adapters?: { name: string; path: string }[];
  /** Tokens of context per slot. */
  contextSize: number;
  /** Parallel slots (`-np`). */
  slots: number;
  threads: number;
  /** Layers offloaded to a GPU (`-ngl`); 0 keeps everything on the CPU. */
  gpuLayers: number;
  /** Folder for `--slot-save-path` (conversation states). */
  slotSaveDir: string;
  /** Records the child's pid, so a later start can remove a server left by a killed app. */
  pidFile: string;
  /** Bearer key the server requires. Default: a random one per supervisor. */
  apiKey?: string;
  /** Longest wait for the first healthy answer after a start, in ms. Default 300 000. */
  startTimeoutMs?: number;
  /**
   * The watch on a running server: `/health` every `intervalMs`, each given
   * `timeoutMs`; only `misses` unanswered in a row (the process still there)
   * count as a hung server, which is then killed and restarted like a crashed
   * one. A busy server still answers `/health` (it is served beside the
   * slots), so being busy never counts. Default 10 000 / 10 000 / 6: a
   * minute of silence.
   */
  watch?: { intervalMs: number; timeoutMs: number; misses: number };
  onProgress?: (fraction: number) => void;
}

type Phase = "starting" | "ready" | "restarting" | "stopped";

/** Restart delays after consecutive crashes, in ms (the last one repeats). */
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000, 30000];
/** A server healthy this long resets the backoff. */
const STABLE_MS = 60_000;
const LOG_LINES = 80;

/** The marker our prompts carry; llama-server picks a random one per start unless told. */
export const MEDIA_MARKER_ENV = { LLAMA_MEDIA_MARKER: "<__media__>" };

/**
 * Starts and watches one llama-server child process (the shape of Ollama's
 * runner scheduler): a free loopback port, health polling while the model
 * loads (with progress), restart with backoff when it dies, and no orphan
 * when the app exits or is killed (parent-death signal via `setpriv`, an
 * exit hook, and a pid file checked at the next start).
 *
 * The server's own log never reaches stdout (it can contain prompts); its
 * last lines are kept for error messages.
 */
export class LlamaServerProcess {
  private child: ChildProcess | null = null;
  private phase: Phase = "starting";
  private port = 0;
  private crashes = 0;
  private readyAt = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private waiters: (() => void)[] = [];
  private readonly log: string[] = [];
  private readonly exitHook = () => this.child?.kill("SIGKILL");
  /**
   * A fresh key per supervisor (unless given): only this app can drive the
   * server (other local users cannot read or replace conversation states
   * through /slots), and a health check cannot be answered by some other
   * server that took the port.
   */
  readonly apiKey: string;
  /** Increments on every (re)start: a new process has empty slots. */
  generation = 0;
  /** Restarts after a crash since the app started. */
  restarts = 0;
  /** Layers the running server reported offloading to a GPU (its log's `offloaded N/M layers`). */
  offloadedLayers = 0;
  /** What the running server's log said about its GPU: the device, its free memory at load, the layers offloaded. */
  offload: ReturnType<typeof parseOffloadLog> = {};
  /** Why the last process ended, in plain words (null while the first one runs). */
  lastExit: string | null = null;

  private constructor(private readonly opts: SupervisorOptions) {
    this.apiKey = opts.apiKey ?? randomBytes(24).toString("base64url");
  }

  /** Starts llama-server and resolves once it answers (with our key); throws if it cannot start (its last lines go to the log). */
  static async start(opts: SupervisorOptions): Promise<LlamaServerProcess> {
    const proc = new LlamaServerProcess(opts);
    killLeftover(opts.pidFile);
    process.once("exit", proc.exitHook);
    try {
      await proc.launch();
    } catch (err) {
      await proc.stop();
      throw err;
    }
    return proc;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid ?? undefined;
  }

  get state(): Phase {
    return this.phase;
  }

  /** Request headers every call to this server needs (its per-process key). */
  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.apiKey}`, ...extra };
  }

  /** The server's last log lines (for errors and tests; may contain prompt text, never logged by us). */
  logTail(lines = 20): string {
    return this.log.slice(-lines).join("\n");
  }

  /** Resolves when the server is healthy; waits through a restart. Throws when stopped or past `timeoutMs`. */
  async ready(signal?: AbortSignal, timeoutMs = 120_000): Promise<void> {
    if (this.phase === "ready") return;
    if (this.phase === "stopped") throw new EngineError("disposed", "The model server was stopped.");
    if (signal?.aborted) throw new EngineError("load_failed", "Cancelled while the model server restarted.");
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        if (this.phase === "ready") resolve();
        else reject(new EngineError("disposed", "The model server was stopped."));
      };
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== done);
        clearTimeout(timer);
        reject(new EngineError("load_failed", "Cancelled while the model server restarted."));
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        signal?.removeEventListener("abort", onAbort);
        reject(new EngineError("load_failed", `The model server is restarting and not ready yet${this.lastExit ? ` (${this.lastExit})` : ""}. Try again shortly.`, 10));
      }, timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(done);
    });
  }

  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  private args(port: number): string[] {
    const o = this.opts;
    const args = [
      "--model", o.modelPath,
      "--ctx-size", String(o.contextSize * o.slots),
      "--parallel", String(o.slots),
      "--threads", String(o.threads),
      "--threads-batch", String(o.threads),
      "--batch-size", "512",
      // GPU layers and the projector's place, sized for the device's free memory (lib/engine/gpu.ts).
      ...serverOffload(o).args,
      "--host", "127.0.0.1",
      "--port", String(port),
      "--slot-save-path", o.slotSaveDir,
      "--no-webui",
      // Slots are chosen by the app (conversation affinity), not by prompt similarity.
      "--slot-prompt-similarity", "0",
    ];
    if (o.mmprojPath) args.push("--mmproj", o.mmprojPath);
    if (o.adapters?.length) args.push(...o.adapters.flatMap((a) => ["--lora", a.path]), "--lora-init-without-apply");
    return args;
  }

  private async launch(): Promise<void> {
    this.phase = "starting";
    this.port = await freePort();
    // A fresh log per process: an earlier one quoted prompts, and the tail is printed if this start fails.
    this.log.length = 0;
    this.offload = {};
    this.offloadedLayers = 0;
    // stop() may have run while we waited: start nothing then.
    if ((this.phase as Phase) === "stopped") throw new EngineError("disposed", "The model server was stopped.");
    fs.mkdirSync(this.opts.slotSaveDir, { recursive: true });
    // setpriv --pdeathsig: the kernel kills the server if the app dies, even by SIGKILL.
    const setpriv = fs.existsSync("/usr/bin/setpriv") ? "/usr/bin/setpriv" : null;
    const [cmd, args] = setpriv
      ? [setpriv, ["--pdeathsig", "KILL", "--", this.opts.binary, ...this.args(this.port)]]
      : [this.opts.binary, this.args(this.port)];
    const child = spawn(cmd, args, {
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group: a signal to the app's group (Ctrl-C, a service manager's
      // SIGTERM) reaches the app, which stops its answers first and then this server.
      detached: true,
      // No host-RAM prompt cache: conversation states are ours (slot files under a byte budget).
      // GPU libraries the loader would not find by itself (CUDA runtime, NVIDIA driver, its Vulkan manifest): the
      // linked build's prebuilt backends are dlopen()ed, so only the path reaches them. Nothing a user set is replaced.
      env: { ...process.env, ...serverGpuEnv(gpuLibraryDirs(), probeGpu().nvidiaIcd), ...MEDIA_MARKER_ENV, LLAMA_API_KEY: this.apiKey, LLAMA_ARG_CACHE_RAM: "0" },
    });
    this.child = child;
    this.generation++;
    const progress = this.opts.onProgress;
    const partial = { stdout: "", stderr: "" };
    const onData = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
      const lines = (partial[stream] + chunk.toString("utf8")).split("\n");
      partial[stream] = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.trim()) continue;
        this.log.push(line);
        if (/using device|offloaded \d+\/\d+ layers to GPU/.test(line)) {
          this.offload = { ...this.offload, ...parseOffloadLog([line]) };
          this.offloadedLayers = this.offload.layers ?? this.offloadedLayers;
        }
        if (this.log.length > LOG_LINES) this.log.shift();
        if (progress && this.phase === "starting") {
          if (/load_tensors/.test(line)) progress(0.3);
          else if (/llama_context|llama_kv_cache/.test(line)) progress(0.6);
          else if (/multimodal|clip_model_loader|mtmd/.test(line)) progress(0.8);
        }
      }
    };
    child.stdout!.on("data", onData("stdout"));
    child.stderr!.on("data", onData("stderr"));
    // "<server pid> <app pid>": a later start removes the server only when its app is gone.
    if (child.pid) fs.writeFileSync(this.opts.pidFile, `${child.pid} ${process.pid}`);
    const exited = new Promise<string>((resolve) => {
      child.once("error", (err) => resolve(`it could not be started: ${err.message}`));
      child.once("exit", (code, signal) => resolve(signal ? `killed by ${signal}` : `exited with code ${code}`));
    });
    void exited.then((why) => this.onExit(child, why));

    const deadline = Date.now() + (this.opts.startTimeoutMs ?? 300_000);
    for (;;) {
      if ((this.phase as Phase) === "stopped") {
        child.kill("SIGKILL");
        throw new EngineError("disposed", "The model server was stopped.");
      }
      if (this.child !== child) {
        // The details (paths, hardware) go to the server log, not to users.
        console.error(`[engine] llama-server ${this.lastExit ?? "stopped"} while loading; its last lines:\n${this.logTail(12)}`);
        throw new EngineError("load_failed", `llama-server ${this.lastExit ?? "stopped"} while loading the model (the server log has its last lines).`);
      }
      try {
        // /props needs our key: a server that answers it is ours, not another process on this port.
        const res = await fetch(`${this.url}/props`, { headers: this.headers(), signal: AbortSignal.timeout(2000) });
        if (res.ok) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        console.error(`[engine] llama-server did not become healthy; its last lines:\n${this.logTail(12)}`);
        throw new EngineError("load_failed", `llama-server did not become healthy in ${Math.round((this.opts.startTimeoutMs ?? 300_000) / 1000)} s.`);
      }
      await sleep(150);
    }
    this.phase = "ready";
    this.readyAt = Date.now();
    progress?.(1);
    this.wake();
    this.watch(child);
  }

  /** Watches `child` while it is the running server: see `SupervisorOptions.watch`. */
  private watch(child: ChildProcess) {
    const { intervalMs, timeoutMs, misses } = this.opts.watch ?? { intervalMs: 10_000, timeoutMs: 10_000, misses: 6 };
    let missed = 0;
    const tick = async () => {
      if (this.child !== child || this.phase !== "ready") return;
      try {
        const res = await fetch(`${this.url}/health`, { headers: this.headers(), signal: AbortSignal.timeout(timeoutMs) });
        await res.body?.cancel();
        missed = 0;
      } catch {
        if (this.child !== child || this.phase !== "ready") return;
        missed++;
        if (missed >= misses) {
          console.error(`[engine] llama-server (pid ${child.pid}) has not answered its health check ${missed} times in a row (${timeoutMs} ms each); restarting it`);
          child.kill("SIGKILL");
          return;
        }
      }
      setTimeout(() => void tick(), intervalMs).unref();
    };
    setTimeout(() => void tick(), intervalMs).unref();
  }

  private onExit(child: ChildProcess, why: string) {
    if (this.child !== child) return;
    this.child = null;
    this.lastExit = `llama-server ${why}`;
    if (this.phase === "stopped") return;
    const wasReady = this.phase === "ready";
    if (wasReady && Date.now() - this.readyAt > STABLE_MS) this.crashes = 0;
    const delay = BACKOFF_MS[Math.min(this.crashes, BACKOFF_MS.length - 1)]!;
    this.crashes++;
    if (!wasReady) return; // the start itself failed: launch() reports it
    this.phase = "restarting";
    console.error(`[engine] ${this.lastExit}; restarting in ${delay} ms`);
    this.restartTimer = setTimeout(() => void this.restart(), delay);
  }

  private async restart() {
    this.restartTimer = null;
    if (this.phase === "stopped") return;
    try {
      await this.launch();
      this.restarts++;
      console.log(`[engine] llama-server is back (restart ${this.restarts})`);
    } catch (err) {
      if ((this.phase as Phase) === "stopped") return;
      this.phase = "restarting";
      // onExit of the failed start already counted the crash.
      const delay = BACKOFF_MS[Math.min(this.crashes - 1, BACKOFF_MS.length - 1)]!;
      console.error(`[engine] llama-server restart failed: ${(err as Error).message.split("\n")[0]}; next try in ${delay} ms`);
      this.restartTimer = setTimeout(() => void this.restart(), delay);
    }
  }

  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and any pending restart. */
  async stop(): Promise<void> {
    this.phase = "stopped";
    if (this.restartTimer) clearTimeout(this.restartTimer);
    process.removeListener("exit", this.exitHook);
    this.wake();
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await gone;
      clearTimeout(killer);
    }
    this.child = null;
    fs.rmSync(this.opts.pidFile, { force: true });
  }
}

/**
 * Kills a llama-server recorded in `pidFile` whose app is gone (an app that
 * could not stop it). A server whose app still runs (another instance on the
 * same data folder) is left alone.
 */
function killLeftover(pidFile: string) {
  let pid: number;
  let appPid: number;
  try {
    [pid, appPid] = fs.readFileSync(pidFile, "utf8").trim().split(/\s+/).map(Number) as [number, number];
  } catch {
    return;
  }
  if (appPid && appPid !== process.pid && isRunning(appPid)) return;
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
    if (cmdline.includes("llama-server")) {
      process.kill(pid, "SIGKILL");
      console.warn(`[engine] stopped a llama-server (pid ${pid}) left running by an earlier start`);
    }
  } catch {
    /* not running */
  }
  fs.rmSync(pidFile, { force: true });
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function isRunning(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A port free on loopback right now (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
