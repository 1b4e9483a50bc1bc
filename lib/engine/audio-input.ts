import { createHash } from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { runFfmpeg } from "@/lib/media/ffmpeg";
import { EngineError } from "./errors";
import { WHISPER_SAMPLE_RATE } from "./families/audio";

/**
 * Audio files as the engine sends them to an audio-capable model (one
 * whose projector has an audio encoder): the stored upload (WAV, MP3, Ogg,
 * FLAC, M4A) re-encoded once to 16 kHz mono 16-bit WAV, which libmtmd
 * (miniaudio: WAV, MP3, FLAC only) reads as it is on both engines, and
 * whose sample count, hence token cost, is known exactly. An audio file
 * travels in the engine's media list like an image: a `<__media__>` marker
 * in the prompt, its path in `media_paths` in-process, its bytes in
 * `multimodal_data` on llama-server (what llama-server makes of an
 * `input_audio` part).
 */

const require = createRequire(import.meta.url);

/** The extensions uploads of audio are stored under (see lib/media/sniff.ts), and the re-encoded copies. */
const AUDIO_FILE = /\.(wav|mp3|ogg|oga|opus|flac|m4a)$/i;

export function isAudioPath(file: string): boolean {
  return AUDIO_FILE.test(file);
}

function ffmpegBinary(): string {
  if (process.env.FFMPEG_PATH) return process.env.FFMPEG_PATH;
  try {
    return path.join(path.dirname(require.resolve("@ffmpeg-installer/linux-x64/package.json")), "ffmpeg");
  } catch {
    return path.join(process.cwd(), "node_modules", "@ffmpeg-installer", "linux-x64", "ffmpeg");
  }
}

/** Samples of a 16-bit mono PCM WAV (its `data` chunk), or null when the file is not one. */
export function wavSamples(file: string): number | null {
  const buf = fs.readFileSync(file);
  if (buf.length < 12 || buf.toString("latin1", 0, 4) !== "RIFF" || buf.toString("latin1", 8, 12) !== "WAVE") return null;
  let bits = 16;
  let channels = 1;
  for (let at = 12; at + 8 <= buf.length; ) {
    const id = buf.toString("latin1", at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    if (id === "fmt ") {
      channels = buf.readUInt16LE(at + 10);
      bits = buf.readUInt16LE(at + 22);
    } else if (id === "data") {
      return Math.floor(Math.min(size, buf.length - at - 8) / ((bits / 8) * channels));
    }
    at += 8 + size + (size % 2);
  }
  return null;
}

/** A WAV file of 16-bit mono PCM samples (little-endian, as `pcm` holds them). */
export function pcmWav(pcm: Buffer, sampleRate: number): Buffer {
  const h = Buffer.alloc(44);
  h.write("RIFF", 0, "latin1");
  h.writeUInt32LE(36 + pcm.length, 4);
  h.write("WAVEfmt ", 8, "latin1");
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write("data", 36, "latin1");
  h.writeUInt32LE(pcm.length, 40);
  return Buffer.concat([h, pcm]);
}

/** Writes a 16 kHz mono WAV of a 440 Hz tone (the probe every audio backend encodes at load). */
export function writeProbeAudio(file: string, seconds = 1): string {
  const n = Math.round(seconds * WHISPER_SAMPLE_RATE);
  const pcm = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / WHISPER_SAMPLE_RATE)), i * 2);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, pcmWav(pcm, WHISPER_SAMPLE_RATE));
  return file;
}

/**
 * The 16 kHz mono WAV copy of an audio file (made once, kept in
 * `<cacheDir>/audio/`, named by the source's path, size and time) and its
 * sample count.
 */
export async function preparedAudio(src: string, cacheDir: string): Promise<{ file: string; samples: number }> {
  let st: fs.Stats;
  try {
    st = fs.statSync(src);
  } catch {
    throw new EngineError("bad_image", `An audio file of this conversation is missing (${path.basename(src)}).`);
  }
  const key = createHash("sha256").update(`${path.resolve(src)}:${st.size}:${st.mtimeMs}`).digest("hex").slice(0, 24);
  const dir = path.join(cacheDir, "audio");
  const file = path.join(dir, `${key}.wav`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp.wav`;
    const { code, stderr } = await runFfmpeg(
      ffmpegBinary(),
      ["-y", "-i", src, "-vn", "-ac", "1", "-ar", String(WHISPER_SAMPLE_RATE), "-c:a", "pcm_s16le", "-map_metadata", "-1", "-fflags", "+bitexact", "-f", "wav", tmp],
      { timeoutMs: 120_000 },
    ).catch((err: Error) => ({ code: -1, stderr: err.message }));
    if (code !== 0 || !fs.existsSync(tmp)) {
      fs.rmSync(tmp, { force: true });
      throw new EngineError("bad_image", `An audio file of this conversation could not be read (${stderr.trim().split("\n").pop() ?? "ffmpeg failed"}).`);
    }
    fs.renameSync(tmp, file);
  }
  const samples = wavSamples(file);
  if (!samples) throw new EngineError("bad_image", `An audio file of this conversation has no samples (${path.basename(src)}).`);
  return { file, samples };
}
