import "server-only";
import { AsyncLocalStorage } from "node:async_hooks";
import type { MediaKind } from "./types";

/** How far the reading of one upload has come: 0–1 of its planned work (frames, pages…). */
export interface DecodeProgress {
  kind: MediaKind;
  fraction: number;
}

const listener = new AsyncLocalStorage<(p: DecodeProgress) => void>();

/**
 * Runs `fn` with `onProgress` told how the decoding of the media it uploads
 * goes (see decodeMedia): the upload route streams it to the chat, without
 * every layer between them having to pass it on.
 */
export function withDecodeProgress<T>(onProgress: (p: DecodeProgress) => void, fn: () => Promise<T>): Promise<T> {
  return listener.run(onProgress, fn);
}

/** The current request's listener (a no-op when none), taken once so that callbacks of other async contexts reach it too. */
export function decodeProgressReporter(): (p: DecodeProgress) => void {
  const fn = listener.getStore();
  return (p) => {
    try {
      fn?.(p);
    } catch {
      /* a listener's failure never fails the upload */
    }
  };
}
