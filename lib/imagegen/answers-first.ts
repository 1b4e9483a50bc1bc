import "server-only";
import { loadedEngine } from "@/lib/engine/get-engine";

/** How often the engine is looked at while waiting, in ms. */
const POLL_MS = 100;

/**
 * The background-work rule captions and the image indexer follow, for a
 * generator on this machine's CPU: before each step (and image) it waits
 * while an answer is being written or waits for a slot. Returns the wait to
 * call; it waits `budgetMs` in all at most (a server that is never idle
 * still draws), and an abort ends it at once. A remote chat engine's
 * answers, and a model offloaded to a GPU, do not compete for the CPU: no
 * wait then.
 */
export function answersFirst({ budgetMs }: { budgetMs: number }): (signal?: AbortSignal) => Promise<void> {
  const deadline = Date.now() + budgetMs;
  return async (signal) => {
    for (;;) {
      signal?.throwIfAborted();
      const engine = loadedEngine();
      if (!engine || engine.kind === "remote" || engine.info.gpuLayers > 0) return;
      const { slotsBusy, queueLength } = engine.status();
      if ((slotsBusy === 0 && queueLength === 0) || Date.now() >= deadline) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        // unref: a paused generation never keeps the process alive.
        const timer = setTimeout(done, POLL_MS).unref();
        signal?.addEventListener("abort", done, { once: true });
      });
    }
  };
}
