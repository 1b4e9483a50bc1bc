import type { EngineActivity } from "./background-model";

/**
 * Answers on their way to the engine: from the moment a chat request arrives
 * until its answer holds or waits for a slot. The engine's slot pool says
 * when answers are written; before that a request spends tens of
 * milliseconds in the route (session, database, prompt), which is part of
 * its time to the first token too. Background work that yields to answers
 * (lib/media/freeze-for-answers.ts) watches both (`answerActivity`).
 */

/** Longest an intake counts once its handler has returned, waiting for the engine to take the answer, in ms. */
const HANDOFF_MS = 2000;

interface Intake {
  count: number;
  listeners: Set<(busy: boolean) => void>;
}

const holder = globalThis as { __answerIntake?: Intake };
const intake = (holder.__answerIntake ??= { count: 0, listeners: new Set() });

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
export function beginAnswerIntake(engine: () => EngineActivity | null): () => void {
  intake.count++;
  if (intake.count === 1) changed(true);
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    intake.count--;
    if (intake.count === 0) changed(false);
  };
  return () => {
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
}

/** Runs a chat handler as an answer intake (see beginAnswerIntake). */
export async function asAnswerIntake<T>(engine: () => EngineActivity | null, handler: () => Promise<T>): Promise<T> {
  const done = beginAnswerIntake(engine);
  try {
    return await handler();
  } finally {
    done();
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
