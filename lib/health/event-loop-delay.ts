import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";

/** How long one window of measurements lasts before the next starts, in ms. */
const WINDOW_MS = 10_000;

interface Monitor {
  current: IntervalHistogram;
  startedAt: number;
  /** The last full window's figures, reported beside the current one's. */
  previous: EventLoopDelay | null;
}

export interface EventLoopDelay {
  /** Delays in ms of the event loop's turns: how long a request that arrived could have waited for its first step. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Length of the window measured, in seconds. */
  windowSeconds: number;
}

const g = globalThis as { __eventLoopDelay?: Monitor };

function monitor(): Monitor {
  if (!g.__eventLoopDelay) {
    const current = monitorEventLoopDelay({ resolution: 10 });
    current.enable();
    g.__eventLoopDelay = { current, startedAt: Date.now(), previous: null };
  }
  return g.__eventLoopDelay;
}

const figures = (h: IntervalHistogram, since: number): EventLoopDelay => {
  // The histogram is in ns and includes the sampling resolution itself (10 ms): take it off.
  const ms = (ns: number) => Math.max(0, Math.round((ns / 1e6 - 10) * 10) / 10);
  return { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max), windowSeconds: Math.round((Date.now() - since) / 1000) };
};

/**
 * Event-loop delay of this process (`perf_hooks.monitorEventLoopDelay`):
 * the current window and the previous full one. Starts measuring on the
 * first call (instrumentation.ts calls it at start-up).
 */
export function eventLoopDelay(): { current: EventLoopDelay; previous: EventLoopDelay | null } {
  const m = monitor();
  if (Date.now() - m.startedAt >= WINDOW_MS) {
    m.previous = figures(m.current, m.startedAt);
    m.current.reset();
    m.startedAt = Date.now();
  }
  return { current: figures(m.current, m.startedAt), previous: m.previous };
}
