import type { Engine } from "./engine";

/** How often the engine's slots and queue are checked, in ms. */
const POLL_MS = 100;

/**
 * Resolves true once no answer has run or waited for `quietMs`, false after
 * `maxWaitMs`. Background work (titles, image captions) waits here so it
 * never takes a slot an answer could use.
 */
export async function waitUntilIdle(engine: Engine, { quietMs, maxWaitMs }: { quietMs: number; maxWaitMs: number }): Promise<boolean> {
  const deadline = Date.now() + maxWaitMs;
  let idleSince: number | null = null;
  for (;;) {
    const { slotsBusy, queueLength } = engine.status();
    const now = Date.now();
    if (slotsBusy === 0 && queueLength === 0) {
      idleSince ??= now;
      if (now - idleSince >= quietMs) return true;
    } else {
      idleSince = null;
    }
    if (now > deadline) return false;
    // unref: work waiting for a busy engine never keeps the process alive.
    await new Promise((resolve) => setTimeout(resolve, POLL_MS).unref());
  }
}

/**
 * Runs background generation `work`, aborting it as soon as an answer waits
 * for a slot (or after `timeoutMs`). With `giveWayTo: "any"` it also stops
 * when an answer merely starts beside it in another slot, so it never
 * shares the CPU with one. Resolves with its result, or null when it gave
 * way to an answer (the caller tries again later).
 */
export async function runUnlessAnswersWait<T>(
  engine: Engine,
  work: (signal: AbortSignal) => Promise<T>,
  {
    timeoutMs,
    giveWayTo = "waiting",
    pollMs = POLL_MS,
  }: {
    timeoutMs: number;
    /** "waiting" (default): answers waiting for a slot; "any": any other generation running or waiting. */
    giveWayTo?: "waiting" | "any";
    /** How often the engine is checked, in ms (the longest an answer shares the CPU with the work). Default 100. */
    pollMs?: number;
  },
): Promise<T | null> {
  const yieldToAnswers = new AbortController();
  const watch = setInterval(() => {
    const { queueLength, slotsBusy } = engine.status();
    // Our own generation holds one slot.
    if (queueLength > 0 || (giveWayTo === "any" && slotsBusy > 1)) yieldToAnswers.abort();
  }, pollMs);
  try {
    const result = await work(AbortSignal.any([yieldToAnswers.signal, AbortSignal.timeout(timeoutMs)]));
    return yieldToAnswers.signal.aborted ? null : result;
  } catch (err) {
    if (yieldToAnswers.signal.aborted) return null;
    throw err;
  } finally {
    clearInterval(watch);
  }
}
