import path from "node:path";
import sharp from "sharp";
import { probe, runFfmpeg } from "./ffmpeg";
import type { Transcript } from "./transcribe";
import { formatTime, MediaRefusal, type DecodeJob, type DerivedImage, type MediaInfo, type ReportProgress } from "./types";

const SAMPLE_RATE = 16_000;
const N_FFT = 512;
const MEL_BINS = 80;
const F_MAX = SAMPLE_RATE / 2;
/** Spectrogram columns at most (the hop grows with the clip's length). */
const MAX_COLUMNS = 960;
const PLOT_HEIGHT = 240;
const MARGIN = { left: 64, right: 12, top: 28, bottom: 40 };

/** Said to a model that cannot hear, beside the spectrogram. */
export const SPECTROGRAM_NOTE = "The image is the audio's mel spectrogram: time runs left to right, pitch (frequency, 0–8 kHz) bottom to top, brighter is louder.";

/**
 * Audio → a mel spectrogram image with labelled time and frequency axes
 * (what every model can be given: a vision model reads it as an image).
 * Refused from the header when there is no audio stream or it is too long,
 * and after decoding when there are no samples.
 */
export async function readAudio(job: DecodeJob, report: ReportProgress = () => {}): Promise<{ info: MediaInfo; images: DerivedImage[] }> {
  const p = await probe(job.ffmpeg, job.input);
  if (!p.audio) throw new MediaRefusal("bad_request:upload", "The file has no audio stream.");
  if (p.durationSeconds !== null && p.durationSeconds > job.limits.maxSeconds) {
    throw new MediaRefusal("payload_too_large:upload", `The audio is ${formatTime(p.durationSeconds)} long; the limit is ${formatTime(job.limits.maxSeconds)}.`);
  }
  // Decoding stops just past the limit whatever the header said (it can lie).
  const { stdout } = await runFfmpeg(
    job.ffmpeg,
    ["-i", job.input, "-vn", "-ac", "1", "-ar", String(SAMPLE_RATE), "-t", String(job.limits.maxSeconds + 1), "-f", "f32le", "pipe:1"],
    // Progress: decoding is the first half, the spectrogram to 60 %, the transcript the rest.
    { timeoutMs: 5 * 60_000, onTime: (t) => p.durationSeconds && report((0.5 * t) / p.durationSeconds) },
  );
  report(0.5);
  const samples = new Float32Array(stdout.buffer, stdout.byteOffset, Math.floor(stdout.byteLength / 4));
  if (!samples.length) throw new MediaRefusal("bad_request:upload", "The audio has no samples.");
  const duration = samples.length / SAMPLE_RATE;
  if (duration > job.limits.maxSeconds) {
    throw new MediaRefusal("payload_too_large:upload", `The audio is longer than the limit of ${formatTime(job.limits.maxSeconds)}.`);
  }
  const file = "spectrogram.png";
  const mel = melSpectrogram(samples);
  report(0.55);
  await renderSpectrogram(mel, duration, path.join(job.outDir, file));
  report(0.6);
  const transcript = await transcriptOf(job, samples, (f) => report(0.6 + 0.4 * f));
  report(1);
  return {
    info: {
      kind: "audio",
      format: job.format,
      durationSeconds: duration,
      sampleRate: p.audio.sampleRate,
      channels: p.audio.channels,
      note: SPECTROGRAM_NOTE,
      ...(transcript && { transcript }),
    },
    images: [{ file, label: "Spectrogram", time: 0 }],
  };
}

/**
 * The clip's transcript by the speech model in job.speechModel, within its
 * budget (CPU and wall-clock time since the reader started); null with no model, for silence, or when the model fails (the
 * upload still succeeds with its spectrogram; the reason goes to the log).
 */
async function transcriptOf(job: DecodeJob, samples: Float32Array, onProgress: (fraction: number) => void): Promise<Transcript | null> {
  if (!job.speechModel) return null;
  try {
    // Loaded here, not at the top: transformers.js takes a while to import, and only audio needs it.
    const { transcribe } = await import("./transcribe");
    const started = Date.now() - process.uptime() * 1000;
    return await transcribe(job.speechModel.dir, samples, {
      cpuBudgetMs: job.speechModel.budgetMs,
      deadline: started + job.speechModel.budgetMs,
      onProgress,
    });
  } catch (err) {
    process.stderr.write(`[media] no transcript: the speech model ${path.basename(job.speechModel.dir)} failed: ${(err as Error).message}\n`);
    return null;
  }
}

/** Log-mel power, [column][bin], in dB relative to the loudest cell and floored 80 dB below it. */
export function melSpectrogram(samples: Float32Array): { data: Float32Array; columns: number } {
  const hop = Math.max(160, Math.ceil(samples.length / MAX_COLUMNS));
  const columns = Math.max(1, Math.floor((samples.length - 1) / hop) + 1);
  const filters = melFilters();
  const window = Float32Array.from({ length: N_FFT }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / N_FFT));
  const re = new Float64Array(N_FFT);
  const im = new Float64Array(N_FFT);
  const data = new Float32Array(columns * MEL_BINS);
  let max = -Infinity;
  for (let c = 0; c < columns; c++) {
    const start = c * hop - N_FFT / 2;
    for (let i = 0; i < N_FFT; i++) {
      const s = samples[start + i];
      re[i] = (s ?? 0) * window[i]!;
      im[i] = 0;
    }
    fft(re, im);
    for (let m = 0; m < MEL_BINS; m++) {
      let power = 0;
      for (const [k, w] of filters[m]!) power += w * (re[k]! * re[k]! + im[k]! * im[k]!);
      const db = 10 * Math.log10(Math.max(power, 1e-10));
      data[c * MEL_BINS + m] = db;
      if (db > max) max = db;
    }
  }
  for (let i = 0; i < data.length; i++) data[i] = Math.max(data[i]! - max, -80);
  return { data, columns };
}

const hzToMel = (f: number) => 2595 * Math.log10(1 + f / 700);
const melToHz = (m: number) => 700 * (10 ** (m / 2595) - 1);

/** Triangular filters over the FFT bins: [bin, weight] pairs per mel band. */
function melFilters(): [number, number][][] {
  const points = Array.from({ length: MEL_BINS + 2 }, (_, i) => melToHz((i * hzToMel(F_MAX)) / (MEL_BINS + 1)));
  const binHz = SAMPLE_RATE / N_FFT;
  return Array.from({ length: MEL_BINS }, (_, m) => {
    const [lo, mid, hi] = [points[m]!, points[m + 1]!, points[m + 2]!];
    const out: [number, number][] = [];
    for (let k = 0; k <= N_FFT / 2; k++) {
      const f = k * binHz;
      const w = f < lo || f > hi ? 0 : f <= mid ? (f - lo) / (mid - lo) : (hi - f) / (hi - mid);
      if (w > 0) out.push([k, w]);
    }
    if (!out.length) out.push([Math.round(mid / binHz), 1]);
    return out;
  });
}

/** In-place iterative radix-2 FFT (n a power of two). */
function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = Math.cos(ang * k);
        const wi = Math.sin(ang * k);
        const a = i + k;
        const b = a + len / 2;
        const xr = re[b]! * wr - im[b]! * wi;
        const xi = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
      }
    }
  }
}

/** Magma-like colour ramp for 0..1. */
function colour(v: number): [number, number, number] {
  const stops: [number, number, number][] = [
    [0, 0, 4],
    [81, 18, 124],
    [183, 55, 121],
    [252, 137, 97],
    [252, 253, 191],
  ];
  const x = Math.min(1, Math.max(0, v)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [stops[i]!, stops[i + 1]!];
  return [0, 1, 2].map((c) => Math.round(a[c]! + (b[c]! - a[c]!) * f)) as [number, number, number];
}

/** The spectrogram as a PNG with a time axis (m:ss) below and a frequency axis (Hz) on the left. */
async function renderSpectrogram({ data, columns }: { data: Float32Array; columns: number }, duration: number, out: string): Promise<void> {
  const raw = Buffer.alloc(columns * MEL_BINS * 3);
  for (let c = 0; c < columns; c++) {
    for (let m = 0; m < MEL_BINS; m++) {
      const [r, g, b] = colour((data[c * MEL_BINS + m]! + 80) / 80);
      const o = ((MEL_BINS - 1 - m) * columns + c) * 3; // low frequencies at the bottom
      raw[o] = r;
      raw[o + 1] = g;
      raw[o + 2] = b;
    }
  }
  const plotWidth = Math.min(Math.max(columns, 320), MAX_COLUMNS);
  const plot = await sharp(raw, { raw: { width: columns, height: MEL_BINS, channels: 3 } }).resize(plotWidth, PLOT_HEIGHT, { fit: "fill", kernel: "nearest" }).png().toBuffer();
  const W = MARGIN.left + plotWidth + MARGIN.right;
  const H = MARGIN.top + PLOT_HEIGHT + MARGIN.bottom;
  const melMax = hzToMel(F_MAX);
  const yOf = (hz: number) => MARGIN.top + PLOT_HEIGHT - (hzToMel(hz) / melMax) * PLOT_HEIGHT;
  const freqTicks = [0, 250, 500, 1000, 2000, 4000, 8000].map(
    (hz) => `<line x1="${MARGIN.left - 5}" x2="${MARGIN.left}" y1="${yOf(hz)}" y2="${yOf(hz)}" stroke="#333"/><text x="${MARGIN.left - 8}" y="${yOf(hz) + 4}" text-anchor="end">${hz >= 1000 ? `${hz / 1000}k` : hz}</text>`,
  );
  const step = niceStep(duration / 6);
  const timeTicks: string[] = [];
  for (let t = 0; t <= duration + 1e-6; t += step) {
    const x = MARGIN.left + (t / Math.max(duration, 1e-6)) * plotWidth;
    timeTicks.push(`<line x1="${x}" x2="${x}" y1="${MARGIN.top + PLOT_HEIGHT}" y2="${MARGIN.top + PLOT_HEIGHT + 5}" stroke="#333"/><text x="${x}" y="${MARGIN.top + PLOT_HEIGHT + 18}" text-anchor="middle">${step < 1 ? t.toFixed(1) : formatTime(t)}</text>`);
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${W}" height="${H}" font-family="DejaVu Sans, sans-serif" font-size="11" fill="#222">
<rect width="100%" height="100%" fill="#fff"/>
<text x="${MARGIN.left}" y="18" font-size="12">Mel spectrogram</text>
<image x="${MARGIN.left}" y="${MARGIN.top}" width="${plotWidth}" height="${PLOT_HEIGHT}" preserveAspectRatio="none" xlink:href="data:image/png;base64,${plot.toString("base64")}"/>
${freqTicks.join("\n")}
${timeTicks.join("\n")}
<text x="${MARGIN.left + plotWidth / 2}" y="${H - 4}" text-anchor="middle">time (${step < 1 ? "s" : "m:ss"})</text>
<text transform="translate(14 ${MARGIN.top + PLOT_HEIGHT / 2}) rotate(-90)" text-anchor="middle">frequency (Hz)</text>
</svg>`;
  await sharp(Buffer.from(svg)).png().toFile(out);
}

function niceStep(raw: number): number {
  for (const s of [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600]) if (s >= raw) return s;
  return 3600;
}
