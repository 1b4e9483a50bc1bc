import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/**
 * Builds llama-server in the background while the app serves on the
 * in-process engine (ENGINE=auto, none built yet), then hands over
 * (get-engine.ts). The build runs at the lowest CPU priority (`nice -n 19`)
 * so answers keep their speed; one instance per machine builds (a lock file
 * beside the build), others wait for its result; a failure is reported and
 * tried again on the next start, never in a loop.
 */

export interface UpgradeStatus {
  /** building: compiling; waiting: another instance on this machine is; handing-over: built, moving the model to it; done; failed (the reason in `reason`). */
  state: "building" | "waiting" | "handing-over" | "done" | "failed";
  /** Build progress from its `[ NN%]` lines, 0–100, or null before the first. */
  percent: number | null;
  /** Seconds left at the pace so far, or null while unknown. */
  etaSeconds: number | null;
  reason?: string;
}

export interface AutoBuild {
  status: () => UpgradeStatus;
  /** Stops the build (app shutdown); cmake continues where it stopped on the next start. */
  stop: () => void;
  /** Settles when the build and the hand-over are over (either way). */
  finished: Promise<void>;
}

/** `ENGINE_AUTOBUILD=0` (or false/off/no) turns the background build off. */
export { autoBuildEnabled } from "../env-schema";

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes `file` for this process; false while a live process holds it. A dead holder's lock is taken over. */
function takeLock(file: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: "wx" });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = Number(fs.readFileSync(file, "utf8"));
      if (holder > 0 && pidAlive(holder)) return false;
      fs.rmSync(file, { force: true });
    }
  }
  return false;
}

/**
 * Starts the build `command` (argv) under `dir`'s lock, reports progress,
 * and calls `onBuilt` once `isBuilt()` says a usable llama-server is there
 * — after this instance's build, or another instance's.
 */
export function startAutoBuild({
  command,
  dir,
  isBuilt,
  onBuilt,
  pollMs = 2000,
  env = process.env,
}: {
  command: string[];
  /** Where the build goes (LLAMA_CPP_DIR); the lock lives there. */
  dir: string;
  isBuilt: () => boolean;
  onBuilt: () => Promise<void>;
  /** How often a waiting instance looks for the other's result, ms. Default 2000. */
  pollMs?: number;
  env?: NodeJS.ProcessEnv;
}): AutoBuild {
  const status: UpgradeStatus = { state: "building", percent: null, etaSeconds: null };
  const lockFile = path.join(dir, "autobuild.lock");
  fs.mkdirSync(dir, { recursive: true });
  let stopped = false;
  let kill = () => {};

  const handOver = async () => {
    status.state = "handing-over";
    status.percent = 100;
    status.etaSeconds = 0;
    try {
      await onBuilt();
      status.state = "done";
    } catch (err) {
      status.state = "failed";
      status.reason = `llama-server was built but the hand-over failed: ${(err as Error).message}`;
    }
  };

  const waitForOther = () =>
    new Promise<void>((resolve) => {
      status.state = "waiting";
      const timer = setInterval(() => {
        if (stopped) return done();
        if (isBuilt()) return done(handOver());
        if (!fs.existsSync(lockFile) || !pidAlive(Number(fs.readFileSync(lockFile, "utf8")))) {
          status.state = "failed";
          status.reason = "another instance's llama-server build ended without a usable llama-server; the next start tries again";
          done();
        }
      }, pollMs);
      timer.unref();
      const done = (after?: Promise<void>) => {
        clearInterval(timer);
        void (after ?? Promise.resolve()).then(resolve);
      };
    });

  const build = () =>
    new Promise<void>((resolve) => {
      const started = Date.now();
      const niced = fs.existsSync("/usr/bin/nice") ? ["/usr/bin/nice", "-n", "19", ...command] : command;
      const child = spawn(niced[0]!, niced.slice(1), { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
      kill = () => {
        try {
          process.kill(-child.pid!, "SIGTERM");
        } catch {
          /* already gone */
        }
      };
      process.once("exit", kill);
      let lastLine = "";
      const read = (d: Buffer) => {
        for (const line of d.toString().split(/\r|\n/)) {
          if (line.trim()) lastLine = line.trim();
          for (const m of line.matchAll(/(\d{1,3})%/g)) {
            const pct = Math.min(100, Number(m[1]));
            if (pct > (status.percent ?? -1)) {
              status.percent = pct;
              const elapsed = (Date.now() - started) / 1000;
              status.etaSeconds = pct >= 3 && pct < 100 ? Math.round((elapsed * (100 - pct)) / pct) : null;
            }
          }
        }
      };
      child.stdout!.on("data", read);
      child.stderr!.on("data", read);
      child.on("error", (err) => (lastLine = err.message));
      child.on("close", (code) => {
        process.off("exit", kill);
        fs.rmSync(lockFile, { force: true });
        if (!stopped && code === 0 && isBuilt()) return void handOver().then(resolve);
        status.state = "failed";
        status.reason = stopped ? "stopped with the app" : `the llama-server build failed (exit ${code}): ${lastLine.slice(0, 300)}; the app stays on the in-process engine and tries again on the next start`;
        resolve();
      });
    });

  const finished = takeLock(lockFile) ? build() : waitForOther();
  return {
    status: () => ({ ...status }),
    stop: () => {
      stopped = true;
      kill();
    },
    finished,
  };
}
