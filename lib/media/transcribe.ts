import path from "node:path";
import { env as transformersEnv, pipeline, type Tensor } from "@huggingface/transformers";

/**
 * Speech → text with a local transformers.js speech-recognition folder
 * (SPEECH_MODEL_DIR): a Whisper export (config.json model_type "whisper",
 * onnx/encoder_model.onnx, onnx/decoder_model_merged.onnx) or a CTC model in
 * wav2vec2's layout (onnx/model.onnx, a character vocabulary), such as the
 * shipped demo `models/speech/shapes-asr`. Nothing is ever downloaded. Runs
 * in the media reader's process (decode-worker.ts), never in the server.
 */
export interface Transcript {
  text: string;
  /** The model folder's name. */
  model: string;
  /** True when the time budget ran out before the end of the clip: the text covers its start. */
  partial?: boolean;
}

export interface TranscribeOptions {
  /** CPU time this process may have used, in ms (frozen time costs none), before no further piece is started. */
  cpuBudgetMs?: number;
  /** Date.now() past which no piece is started and a running one is abandoned. */
  deadline?: number;
  onProgress?: (fraction: number) => void;
}

/** Longest piece a model is given at once, in seconds: Whisper's own 30 s window, 20 s for a CTC model. */
const WINDOW_SECONDS = { whisper: 30, ctc: 20 };
const RATE = 16_000;

interface Recogniser {
  (audio: Float32Array): Promise<{ text: string } | { text: string }[]>;
  model: { config: { model_type: string; pad_token_id?: number }; (inputs: unknown): Promise<{ logits: Tensor }> };
  processor: (audio: Float32Array) => Promise<Record<string, Tensor>>;
  tokenizer: { get_vocab(): Map<string, number>; pad_token_id?: number };
}

const loaded = new Map<string, Promise<Recogniser>>();

/** The pipeline for a folder, loaded once per process. One thread: reading runs beside the chat model and must not take its cores. */
function recogniser(dir: string): Promise<Recogniser> {
  let p = loaded.get(dir);
  if (!p) {
    transformersEnv.allowRemoteModels = false;
    transformersEnv.localModelPath = path.dirname(dir) + path.sep;
    p = pipeline("automatic-speech-recognition", path.basename(dir), {
      dtype: "fp32",
      session_options: { intraOpNumThreads: 1, interOpNumThreads: 1 },
    }) as unknown as Promise<Recogniser>;
    loaded.set(dir, p);
    p.catch(() => loaded.delete(dir));
  }
  return p;
}

/**
 * The transcript of `samples` (mono, 16 kHz, as the audio reader decodes
 * them), or null when nothing in it was heard as words. The clip is cut
 * into its stretches of sound (silence between them is not given to the
 * model: it was trained on phrases, not on minutes of quiet), each at most
 * the model's window. Before each piece the budgets are checked (CPU time
 * of this whole process, and the deadline); when one is spent the text so
 * far is returned, marked partial.
 */
export async function transcribe(dir: string, samples: Float32Array, { cpuBudgetMs = Infinity, deadline = Infinity, onProgress = () => {} }: TranscribeOptions = {}): Promise<Transcript | null> {
  const asr = await recogniser(dir);
  const whisper = asr.model.config.model_type === "whisper";
  const cpuMs = () => {
    const used = process.cpuUsage();
    return (used.user + used.system) / 1000;
  };
  const pieces = soundPieces(samples, RATE * WINDOW_SECONDS[whisper ? "whisper" : "ctc"]);
  const texts: string[] = [];
  let partial = false;
  for (const [i, piece] of pieces.entries()) {
    if (cpuMs() > cpuBudgetMs || Date.now() > deadline) {
      partial = true;
      break;
    }
    const audio = samples.subarray(piece.start, piece.end);
    const heard = whisper ? asr(audio).then((out) => (Array.isArray(out) ? out[0]?.text : out.text) ?? "") : ctcGreedy(asr, audio);
    const text = await beforeDeadline(heard, deadline);
    if (text === null) {
      partial = true;
      break;
    }
    if (text.trim()) texts.push(text.trim());
    onProgress((i + 1) / pieces.length);
  }
  const text = texts.join(" ").replace(/\s+/g, " ").trim();
  if (!text) return null;
  return partial ? { text, model: path.basename(dir), partial } : { text, model: path.basename(dir) };
}

/** The promise's value, or null if the deadline comes first (the work is abandoned: the reader exits once it has answered). */
function beforeDeadline<T>(work: Promise<T>, deadline: number): Promise<T | null> {
  if (deadline === Infinity) return work;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), Math.max(0, deadline - Date.now()));
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/**
 * Greedy CTC decoding done here, not by the pipeline: transformers.js drops
 * special tokens (the blank among them) before it merges repeated frames,
 * which turns every double letter ("yellow") into one.
 */
async function ctcGreedy(asr: Recogniser, audio: Float32Array): Promise<string> {
  const { logits } = await asr.model(await asr.processor(audio));
  const [, frames, vocab] = logits.dims as [number, number, number];
  const data = logits.data as Float32Array;
  const tokens = new Map([...asr.tokenizer.get_vocab()].map(([token, id]) => [id, token]));
  const blank = asr.tokenizer.pad_token_id ?? asr.model.config.pad_token_id ?? 0;
  let out = "";
  let previous = -1;
  for (let t = 0; t < frames; t++) {
    let best = 0;
    for (let v = 1; v < vocab; v++) if (data[t * vocab + v]! > data[t * vocab + best]!) best = v;
    if (best !== previous && best !== blank) {
      const token = tokens.get(best) ?? "";
      // "|" is wav2vec2's word delimiter; <s>, </s>, <unk> and the like are not text.
      if (token === "|") out += " ";
      else if (!/^<.*>$/.test(token)) out += token;
    }
    previous = best;
  }
  return out.replace(/\s+/g, " ").trim();
}

/** 20 ms frames; a frame is sound when its RMS is above −50 dBFS and within 40 dB of the loudest. */
const FRAME = 320;
/** Gaps shorter than this stay inside one piece; the piece keeps this much of the quiet on each side. */
const JOIN_GAP = 0.4 * RATE;
const PAD = 0.15 * RATE;

/**
 * The clip's stretches of sound, as pieces of at most `max` samples: runs
 * of sound frames joined across short gaps, padded a little, and cut
 * further (at their quietest moment) when longer than `max`.
 */
export function soundPieces(samples: Float32Array, max: number): { start: number; end: number }[] {
  const frames = Math.ceil(samples.length / FRAME);
  const power = new Float64Array(frames);
  let loudest = 0;
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    const end = Math.min(samples.length, (f + 1) * FRAME);
    for (let i = f * FRAME; i < end; i++) sum += samples[i]! * samples[i]!;
    power[f] = sum / Math.max(1, end - f * FRAME);
    if (power[f]! > loudest) loudest = power[f]!;
  }
  const threshold = Math.max(1e-5, loudest * 1e-4);
  const runs: { start: number; end: number }[] = [];
  for (let f = 0; f < frames; f++) {
    if (power[f]! <= threshold) continue;
    const start = f * FRAME;
    const end = Math.min(samples.length, (f + 1) * FRAME);
    const last = runs.at(-1);
    if (last && start - last.end < JOIN_GAP) last.end = end;
    else runs.push({ start, end });
  }
  return runs.flatMap((r) => {
    const start = Math.max(0, r.start - PAD);
    const end = Math.min(samples.length, r.end + PAD);
    return splitAtQuiet(samples.subarray(start, end), max).map((p) => ({ start: start + p.start, end: start + p.end }));
  });
}

/**
 * Pieces of at most `max` samples, each cut at the quietest 50 ms of its last
 * quarter, so a word is seldom split in two.
 */
export function splitAtQuiet(samples: Float32Array, max: number): { start: number; end: number }[] {
  const pieces: { start: number; end: number }[] = [];
  const frame = 800;
  let start = 0;
  while (samples.length - start > max) {
    let best = start + max;
    let quietest = Infinity;
    for (let f = start + Math.floor(max * 0.75); f + frame <= start + max; f += frame) {
      let sum = 0;
      for (let i = f; i < f + frame; i++) sum += samples[i]! * samples[i]!;
      if (sum < quietest) {
        quietest = sum;
        best = f + frame / 2;
      }
    }
    pieces.push({ start, end: best });
    start = best;
  }
  pieces.push({ start, end: samples.length });
  return pieces;
}
