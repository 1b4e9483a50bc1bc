import "server-only";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { answerActivity, whileReadingOwnFile } from "@/lib/engine/answer-intake";
import { loadedCpuActivity, loadedEngine } from "@/lib/engine/get-engine";
import { env } from "@/lib/env";
import { AppError, type ErrorCode } from "@/lib/errors";
import { decodeProgressReporter } from "./decode-progress";
import { backgroundCommand, freezeForAnswers } from "./freeze-for-answers";
import type { DecodeJob, DecodeResult, DerivedImage, MediaInfo, MediaKind } from "./types";

const require = createRequire(import.meta.url);

/** Niceness of the decoding process (0 = the server's priority, 19 = lowest). */
const DECODE_NICENESS = 19;

/**
 * The ffmpeg binary: FFMPEG_PATH when set (e.g. Debian's /usr/bin/ffmpeg),
 * else the static build inside the @ffmpeg-installer/linux-x64 npm package
 * (the binary is in its tarball, nothing is downloaded at install).
 */
export function ffmpegPath(): string {
  if (process.env.FFMPEG_PATH) return process.env.FFMPEG_PATH;
  try {
    return path.join(path.dirname(require.resolve("@ffmpeg-installer/linux-x64/package.json")), "ffmpeg");
  } catch {
    return path.join(process.cwd(), "node_modules", "@ffmpeg-installer", "linux-x64", "ffmpeg");
  }
}

/** Longest one reader is kept frozen while answers are written, in all, in ms (see freezeForAnswers). */
const MAX_FROZEN_MS = 30_000;

/**
 * Share of the reader's time limit after which the transcript stops where it
 * has got to (counted from the reader's start, in CPU time and in wall-clock
 * time): the rest is the margin that keeps the upload within its limit.
 */
const TRANSCRIPT_SHARE = 0.5;
/** Below this MEDIA_DECODE_TIMEOUT_MS, audio gets no transcript. */
const TRANSCRIPT_MIN_TIMEOUT_MS = 10_000;

/** The speech model's folder when transcripts are on and it holds a model (config.json), else null. */
export function speechModelDir(): string | null {
  if (!env.AUDIO_TRANSCRIPTS) return null;
  return existsSync(path.join(env.SPEECH_MODEL_DIR, "config.json")) ? env.SPEECH_MODEL_DIR : null;
}

/** Share of the model's context a video's frames may take (the rest: the question, the labels, the answer). */
const FRAMES_CONTEXT_SHARE = 0.75;

/**
 * How many frames to take from a video: VIDEO_MAX_FRAMES, or fewer when the
 * loaded model's context cannot hold that many images (its context size ×
 * FRAMES_CONTEXT_SHARE ÷ what one image costs it: the probe image's tokens
 * measured at load), at least one. Where the family's cost grows with the
 * image a frame may cost more than the probe; the prompt builder still fits
 * what is sent to the context. With no model loaded (or one that reports no
 * image cost), VIDEO_MAX_FRAMES.
 */
export function frameBudget(info: { vision: boolean; contextSize: number; imageTokens: number } | undefined = loadedEngine()?.info): number {
  const max = env.VIDEO_MAX_FRAMES;
  if (!info?.vision || !(info.imageTokens > 0) || !(info.contextSize > 0)) return max;
  return Math.max(1, Math.min(max, Math.floor((info.contextSize * FRAMES_CONTEXT_SHARE) / info.imageTokens)));
}

/**
 * Runs one reader in its own Node process (lib/media/decode-worker.ts)
 * with a V8 heap cap (MEDIA_DECODE_MEMORY_MB) and a wall-clock limit
 * (MEDIA_DECODE_TIMEOUT_MS): a hostile file stalls or crashes that process,
 * never the server's event loop. ffmpeg, started from there, has its own
 * address-space limit. A refusal comes back as the AppError the reader named.
 * The process reports how far it has come (`{"progress": 0.4}` lines before
 * its result), passed on to the request's listener (see withDecodeProgress).
 * While answers are being written on this machine's CPU the reader is frozen
 * (freezeForAnswers, 30 s in all at most); frozen time does not count towards
 * the time limit.
 */
export function decodeMedia(job: { kind: MediaKind; format: string; input: string; outDir: string }): Promise<{ info: MediaInfo; images: DerivedImage[] }> {
  // A file sent with a question (a /v1 data URI) is read while that question waits: it must not freeze for it.
  return whileReadingOwnFile(() => readInChild(job));
}

async function readInChild({
  kind,
  format,
  input,
  outDir,
}: {
  kind: MediaKind;
  format: string;
  input: string;
  outDir: string;
}): Promise<{ info: MediaInfo; images: DerivedImage[] }> {
  // Loading a speech model takes seconds: under a time limit that short, no transcript (the spectrogram alone).
  const speech = kind === "audio" && env.MEDIA_DECODE_TIMEOUT_MS >= TRANSCRIPT_MIN_TIMEOUT_MS ? speechModelDir() : null;
  const job: DecodeJob = {
    kind,
    format,
    input,
    outDir,
    ffmpeg: ffmpegPath(),
    limits: {
      maxSeconds: env.MEDIA_MAX_SECONDS,
      maxFrames: frameBudget(),
      maxPages: env.PDF_MAX_PAGES,
      maxRows: env.DATA_MAX_ROWS,
      maxColumns: env.DATA_MAX_COLUMNS,
      maxPixels: env.UPLOAD_MAX_PIXELS,
    },
    ...(speech && { speechModel: { dir: speech, budgetMs: env.MEDIA_DECODE_TIMEOUT_MS * TRANSCRIPT_SHARE } }),
  };
  const worker = path.join(process.cwd(), "lib", "media", "decode-worker.ts");
  const reportDecodeProgress = decodeProgressReporter();
  reportDecodeProgress({ kind, fraction: 0 });
  const result = await new Promise<DecodeResult>((resolve, reject) => {
    const args = [`--max-old-space-size=${env.MEDIA_DECODE_MEMORY_MB}`, "--import", "tsx", worker];
    // SCHED_IDLE where util-linux's chrt exists (the ffmpeg it starts inherits it): reading a file
    // only takes the CPU that answers leave unused. Elsewhere, the lowest niceness below.
    // At the idle CPU class, and ended by the kernel if this server dies, even while frozen for an answer.
    const command = backgroundCommand([process.execPath, ...args]);
    const child = spawn(command[0]!, command.slice(1), {
      cwd: process.cwd(),
      stdio: ["pipe", "pipe", "pipe"],
      env: { PATH: process.env.PATH, NODE_ENV: "production", HOME: process.env.HOME },
      // Its own process group, so a timeout ends ffmpeg with it.
      detached: true,
    });
    // Reading a file yields the CPU to answers being written: the decoding process (and the
    // ffmpeg it starts, which inherits this) runs at a lower priority than the server.
    try {
      os.setPriority(child.pid!, DECODE_NICENESS);
    } catch {
      /* not permitted here: it runs at the server's priority */
    }
    let stdout = "";
    let pending = "";
    let stderr = "";
    const cpu = loadedCpuActivity();
    const frozen = child.pid ? freezeForAnswers(child.pid, cpu ? answerActivity(cpu) : null, { maxPausedMs: MAX_FROZEN_MS }) : null;
    // The time limit counts the time the reader ran, not the time it was frozen.
    let counted = 0;
    const onTimeout = () => {
      const extra = (frozen?.pausedMs() ?? 0) - counted;
      if (extra > 0) {
        counted += extra;
        timer = setTimeout(onTimeout, extra);
        return;
      }
      frozen?.release();
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
      reject(new AppError("payload_too_large:upload", `Reading the file took longer than the limit of ${Math.round(env.MEDIA_DECODE_TIMEOUT_MS / 1000)} s.`));
    };
    let timer = setTimeout(onTimeout, env.MEDIA_DECODE_TIMEOUT_MS);
    child.stdout.on("data", (d: Buffer) => {
      pending += d.toString("utf8");
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        const progress = /^\{"progress":([0-9.eE+-]+)\}$/.exec(line);
        if (progress) reportDecodeProgress({ kind, fraction: Math.min(1, Math.max(0, Number(progress[1]))) });
        else stdout += `${line}\n`;
      }
    });
    child.stderr.on("data", (d: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += d.toString("utf8");
    });
    child.on("error", (err) => {
      clearTimeout(timer);
      frozen?.release();
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      frozen?.release();
      const line = (stdout + pending).trim().split("\n").pop();
      if (line) {
        try {
          return resolve(JSON.parse(line) as DecodeResult);
        } catch {
          /* fall through */
        }
      }
      if (/heap out of memory|Allocation failed/i.test(stderr)) {
        return reject(new AppError("payload_too_large:upload", `Reading the file needed more than the limit of ${env.MEDIA_DECODE_MEMORY_MB} MiB of memory.`));
      }
      console.error(`[media] the ${kind} reader exited (${code ?? signal}) without a result: ${stderr.slice(-2000)}`);
      reject(new AppError("bad_request:upload", `The ${kind === "pdf" ? "PDF" : kind} file could not be read.`));
    });
    child.stdin.end(JSON.stringify(job));
  });
  if (!result.ok) throw new AppError(result.code as ErrorCode, result.message);
  return { info: result.info, images: result.images };
}
