import { spawnSync } from "node:child_process";
import fs from "node:fs";
import type { EngineActivity } from "@/lib/engine/background-model";

/**
 * util-linux's setpriv, which gives a process a parent-death signal. A file
 * reader frozen for an answer cannot notice that the server died meanwhile;
 * with `--pdeathsig KILL` the kernel ends it anyway. Without a setpriv that
 * takes that option (util-linux 2.33 and later; tried once) there is no
 * freezing: a frozen orphan would stay frozen for ever.
 */
let setpriv: string | null | undefined;
export function setprivPath(): string | null {
  setpriv ??= ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => fs.existsSync(p) && spawnSync(p, ["--pdeathsig", "KILL", "true"], { stdio: "ignore", timeout: 5000 }).status === 0) ?? null;
  return setpriv;
}

const CHRT = ["/usr/bin/chrt", "/bin/chrt"].find((p) => fs.existsSync(p)) ?? null;

/**
 * What a file's reader and its ffmpeg are started under: setpriv's
 * parent-death signal (see setprivPath) and, where util-linux's chrt exists,
 * the SCHED_IDLE class (they get only the CPU that answers leave unused).
 */
export function backgroundCommand(command: string[]): string[] {
  const setpriv = setprivPath();
  return [...(setpriv ? [setpriv, "--pdeathsig", "KILL"] : []), ...(CHRT ? [CHRT, "-i", "0"] : []), ...command];
}

export interface Freeze {
  /** Milliseconds the group has been frozen so far (the current freeze included). */
  pausedMs(): number;
  /** Stops watching and lets the group run (call when it has exited, or to give up freezing). */
  release(): void;
}

/**
 * Freezes a reader's process group (the Node reader and the ffmpeg it runs)
 * with SIGSTOP the moment an answer takes or waits for the model, and lets it
 * go on with SIGCONT when the model is idle again: the rule captions and
 * image generation follow, so that reading another user's long video never
 * shares the CPU (or its caches and memory bandwidth) with an answer being
 * written. A reader freezes for `maxPausedMs` in all at most, so a server
 * that is never idle still reads files. Nothing is lost: the processes go on
 * where they stopped.
 */
export function freezeForAnswers(pgid: number, activity: EngineActivity | null, { maxPausedMs }: { maxPausedMs: number }): Freeze {
  let frozenSince: number | null = null;
  let paused = 0;
  let released = false;
  let budgetTimer: NodeJS.Timeout | null = null;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pgid, sig);
      return true;
    } catch {
      return false; // gone already
    }
  };
  const thaw = () => {
    if (frozenSince === null) return;
    if (budgetTimer) clearTimeout(budgetTimer);
    budgetTimer = null;
    signal("SIGCONT");
    paused += Date.now() - frozenSince;
    frozenSince = null;
  };
  const freeze = () => {
    if (released || frozenSince !== null || paused >= maxPausedMs) return;
    if (!signal("SIGSTOP")) return;
    frozenSince = Date.now();
    budgetTimer = setTimeout(thaw, maxPausedMs - paused);
    budgetTimer.unref();
  };
  const watch = activity && setprivPath() ? activity : null;
  const unsubscribe = watch ? watch.onChange((busy) => (busy ? freeze() : thaw())) : () => {};
  if (watch?.isBusy()) freeze();
  return {
    pausedMs: () => paused + (frozenSince === null ? 0 : Date.now() - frozenSince),
    release: () => {
      if (released) return;
      released = true;
      unsubscribe();
      thaw();
    },
  };
}
