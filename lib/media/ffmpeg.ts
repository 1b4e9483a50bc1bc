import { spawn } from "node:child_process";
import { backgroundCommand } from "./freeze-for-answers";
import { MediaRefusal } from "./types";

/** What `ffmpeg -i` says about a file (it has no ffprobe in the npm package; its banner has the same facts). */
export interface Probe {
  durationSeconds: number | null;
  video: { codec: string; width: number; height: number } | null;
  audio: { codec: string; sampleRate: number; channels: number } | null;
}

/**
 * Calls `onTimeout` once `ms` of this process's waking time have passed. A
 * reader frozen for an answer (lib/media/freeze-for-answers.ts) sees its
 * timers fire late on waking; a plain setTimeout would then count the frozen
 * time as if ffmpeg had been working. Here a late tick counts one tick at
 * most. Returns the cancel.
 */
export function awakeTimeout(ms: number, onTimeout: () => void, tickMs = 250): () => void {
  let spent = 0;
  let last = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    spent += Math.min(now - last, tickMs * 2);
    last = now;
    if (spent >= ms) {
      clearInterval(timer);
      onTimeout();
    }
  }, tickMs);
  return () => clearInterval(timer);
}

/**
 * Runs ffmpeg with a time limit (waking time, see awakeTimeout) and an address-space limit (`ulimit -v`,
 * so a hostile file cannot make it allocate without bound), at the idle
 * scheduling class so it never slows an answer down, and a parent-death
 * signal where util-linux's setpriv exists (frozen with its reader, it must
 * not outlive it). Resolves with
 * stdout and stderr whatever the exit code: callers read ffmpeg's messages.
 */
export function runFfmpeg(
  ffmpeg: string,
  args: string[],
  {
    timeoutMs = 60_000,
    memoryMb = 1024,
    maxStdout = 512 * 1024 * 1024,
    onTime,
  }: { timeoutMs?: number; memoryMb?: number; maxStdout?: number; /** Told the media time ffmpeg's stats line reports as it goes, in seconds. */ onTime?: (seconds: number) => void } = {},
): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    // The address-space limit from the shell, then exec: setpriv, chrt and ffmpeg keep its pid.
    const command = backgroundCommand([ffmpeg, "-hide_banner", "-nostdin", "-threads", "1", ...args]);
    const child = spawn("/bin/sh", ["-c", `ulimit -v ${memoryMb * 1024}; exec "$@"`, "sh", ...command], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = "";
    const cancelTimer = awakeTimeout(timeoutMs, () => {
      child.kill("SIGKILL");
      reject(new MediaRefusal("bad_request:upload", `Decoding took longer than ${Math.round(timeoutMs / 1000)} s and was stopped.`));
    });
    child.stdout.on("data", (d: Buffer) => {
      outBytes += d.length;
      if (outBytes > maxStdout) child.kill("SIGKILL");
      else out.push(d);
    });
    child.stderr.on("data", (d: Buffer) => {
      const text = d.toString("utf8");
      if (err.length < 4 * 1024 * 1024) err += text;
      if (onTime) {
        const last = [...text.matchAll(/time=(\d+):(\d\d):(\d\d(?:\.\d+)?)/g)].pop();
        if (last) onTime(Number(last[1]) * 3600 + Number(last[2]) * 60 + Number(last[3]));
      }
    });
    child.on("error", (e) => {
      cancelTimer();
      reject(e);
    });
    child.on("close", (code) => {
      cancelTimer();
      resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
  });
}

/** Duration and streams from the container's header (nothing is decoded). */
export async function probe(ffmpeg: string, input: string): Promise<Probe> {
  const { stderr } = await runFfmpeg(ffmpeg, ["-i", input], { timeoutMs: 20_000 });
  if (/Invalid data found|could not find codec parameters|moov atom not found|End of file/i.test(stderr) && !/Stream #/.test(stderr)) {
    throw new MediaRefusal("bad_request:upload", "The file is damaged and cannot be read.");
  }
  const d = /Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)/.exec(stderr);
  const durationSeconds = d ? Number(d[1]) * 3600 + Number(d[2]) * 60 + Number(d[3]) : null;
  // The first video stream that is not a cover picture.
  const v = /Stream #[^\n]*?: Video: (\w+)[^\n]*?, (\d{1,6})x(\d{1,6})(?![^\n]*attached pic)/.exec(stderr);
  const a = /Stream #[^\n]*?: Audio: (\w+)[^\n]*?, (\d+) Hz, ([^,\n]+)/.exec(stderr);
  const channels = a ? (/mono/.test(a[3]!) ? 1 : /stereo/.test(a[3]!) ? 2 : Number(/(\d+) channels/.exec(a[3]!)?.[1] ?? 2)) : 0;
  return {
    durationSeconds,
    video: v ? { codec: v[1]!, width: Number(v[2]), height: Number(v[3]) } : null,
    audio: a ? { codec: a[1]!, sampleRate: Number(a[2]), channels } : null,
  };
}
