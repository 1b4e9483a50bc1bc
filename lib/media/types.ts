/**
 * Shapes shared by the media readers (which run in a child process, see
 * decode-worker.ts) and the app: plain data, no imports.
 */

/** The kinds of upload besides still images. */
export type MediaKind = "video" | "audio" | "pdf" | "data";

/** A table format the data reader parses. */
export type DataFormat = "csv" | "tsv" | "json" | "xlsx";

/** What the app caps; each becomes a 413 naming the limit. */
export interface MediaLimits {
  maxSeconds: number;
  maxFrames: number;
  maxPages: number;
  maxRows: number;
  maxColumns: number;
  /** Largest frame or page, in pixels (width × height). */
  maxPixels: number;
}

/** One job for the decoding process. */
export interface DecodeJob {
  kind: MediaKind;
  /** Container or format, from the bytes (see sniffUpload). */
  format: string;
  input: string;
  outDir: string;
  limits: MediaLimits;
  /** Absolute path of the ffmpeg binary (video and audio). */
  ffmpeg: string;
  /**
   * The speech-recognition folder for audio transcripts (SPEECH_MODEL_DIR),
   * when there is one, and how long the reader may have run, in ms, before
   * the transcript stops where it has got to (counted both as its process's
   * CPU time and as wall-clock time since it started).
   */
  speechModel?: { dir: string; budgetMs: number };
}

/** An image a reader made, before it is fitted and stored. */
export interface DerivedImage {
  /** File name inside the job's outDir. */
  file: string;
  /** "Frame 3, 0:12", "Page 2", "Chart", "Spectrogram". */
  label: string;
  time?: number;
  page?: number;
}

export interface TableColumn {
  name: string;
  type: "number" | "date" | "text";
}

/** What a reader found, kept as the upload's mediaInfo (JSON). */
export type MediaInfo =
  | { kind: "video"; format: string; durationSeconds: number; width: number; height: number; frameCount: number; animated?: boolean }
  | {
      kind: "audio";
      format: string;
      durationSeconds: number;
      sampleRate: number;
      channels: number;
      note: string;
      /** What the speech model (SPEECH_MODEL_DIR) heard; absent with no model or for silence. */
      transcript?: { text: string; model: string; partial?: boolean };
    }
  | { kind: "pdf"; pageCount: number; pages: { page: number; text: string }[] }
  | {
      kind: "data";
      format: DataFormat;
      rowCount: number;
      columns: TableColumn[];
      /** The first rows (at most TABLE_ROWS_KEPT), for the scrollable table. */
      rows: string[][];
      chart: { mark: "bar" | "line" | "scatter"; x: string; y: string; title: string } | null;
      summary: string;
    };

/** Told how far a reader has come: 0–1 of its planned work (frames extracted of those planned, pages rendered of all). */
export type ReportProgress = (fraction: number) => void;

export type DecodeResult = { ok: true; info: MediaInfo; images: DerivedImage[] } | { ok: false; code: string; message: string };

/** A refusal a reader can explain (bad input, a limit): becomes an AppError in the app. */
export class MediaRefusal extends Error {
  constructor(
    readonly code: "bad_request:upload" | "payload_too_large:upload" | "unsupported_media_type:upload",
    message: string,
  ) {
    super(message);
  }
}

/** 0:07, 1:02:03: the second a time falls in, as a player shows it. */
export function formatTime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds + 1e-6));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}
