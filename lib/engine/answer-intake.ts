import { AsyncLocalStorage } from "node:async_hooks";
import type { EngineActivity } from "./background-model";

/**
 * Answers on their way to the engine: from the moment a chat request arrives
 * until its answer holds or waits for a slot. The engine's slot pool says
 * when answers are written; before that a request spends tens of
 * milliseconds in the route (session, database, prompt), which is part of
 * its time to the first token too. Background work that yields to answers
 * (lib/media/freeze-for-answers.ts) watches both (`answerActivity`).
 *
 * Routes count a request only once it is authenticated and valid (a refused
 * request counts nothing), and a request that reads a file of its own (a
 * video sent to /v1 as a data URI) steps aside while it does
 * (`whileReadingOwnFile`): its own reader must not wait for it.
 */

/** Longest an intake counts once its handler has returned, waiting for the engine to take the answer, in ms. */
const HANDOFF_MS = 2000;

interface Intake {
  count: number;
  listeners: Set<(busy: boolean) => void>;
}

const holder = globalThis as { __answerIntake?: Intake; __intakeContext?: AsyncLocalStorage<IntakeHandle> };
const intake = (holder.__answerIntake ??= { count: 0, listeners: new Set() });
/** The intake the current request runs in, for whileReadingOwnFile. */
const context = (holder.__intakeContext ??= new AsyncLocalStorage<IntakeHandle>());

interface IntakeHandle {
  /** Stops counting this request until `resume` (idempotent while suspended). */
  suspend(): void;
  resume(): void;
}

function changed(busy: boolean) {
  for (const l of intake.listeners) {
    try {
      l(busy);
    } catch (err) {
      console.warn(`[engine] an intake listener failed: ${(err as Error).message}`);
    }
  }
}

/**
 * Counts one answer request from now. Call the returned function when the
 * handler is done: the count then ends as soon as `engine` is busy (the
 * answer took or waits for a slot), or after HANDOFF_MS, whichever is first.
 * Safe to call twice.
 */
export function beginAnswerIntake(engine: () => EngineActivity | null): (() => void) & IntakeHandle & { abandon(): void } {
  const up = () => {
    intake.count++;
    if (intake.count === 1) changed(true);
  };
  const down = () => {
    intake.count--;
    if (intake.count === 0) changed(false);
  };
  up();
  let ended = false;
  let suspended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    if (!suspended) down();
  };
  const done = () => {
    if (ended) return;
    const activity = engine();
    if (!activity || activity.isBusy()) return end();
    const timer = setTimeout(() => {
      unsubscribe();
      end();
    }, HANDOFF_MS);
    timer.unref();
    const unsubscribe = activity.onChange((busy) => {
      if (!busy) return;
      clearTimeout(timer);
      unsubscribe();
      end();
    });
  };
  return Object.assign(done, {
    /** Ends the count now (the request failed: nothing is on its way to the engine). */
    abandon: end,
    suspend() {
      if (ended || suspended) return;
      suspended = true;
      down();
    },
    resume() {
      if (ended || !suspended) return;
      suspended = false;
      up();
    },
  });
}

/** Runs a chat handler as an answer intake (see beginAnswerIntake). */
export async function asAnswerIntake<T>(engine: () => EngineActivity | null, handler: () => Promise<T>): Promise<T> {
  const handle = beginAnswerIntake(engine);
  try {
    const result = await context.run(handle, handler);
    handle();
    return result;
  } catch (err) {
    handle.abandon();
    throw err;
  }
}

/**
 * Runs `work` (reading a file the current request brought) with the request's
 * intake set aside, so that the reader is not frozen for the very answer
 * that waits for it. Outside an intake, just runs it.
 */
export async function whileReadingOwnFile<T>(work: () => Promise<T>): Promise<T> {
  const handle = context.getStore();
  if (!handle) return work();
  handle.suspend();
  try {
    return await work();
  } finally {
    handle.resume();
  }
}

/** Busy while answers are on their way to the engine or hold or wait for its slots. */
export function answerActivity(engine: EngineActivity | null): EngineActivity {
  const busy = () => intake.count > 0 || (engine?.isBusy() ?? false);
  return {
    isBusy: busy,
    onChange(listener) {
      let last = busy();
      const check = () => {
        const now = busy();
        if (now !== last) {
          last = now;
          listener(now);
        }
      };
      intake.listeners.add(check);
      const off = engine?.onChange(check);
      return () => {
        intake.listeners.delete(check);
        off?.();
      };
    },
  };
}
