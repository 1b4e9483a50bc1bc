/**
 * Lets a new image wake the image indexer (lib/images/image-indexer.ts) from
 * its idle pause, so that the indexer can look for work rarely while nothing
 * changes (each look is a few database queries) without delaying a fresh
 * upload's search entry. Only this process's indexer is woken; another
 * instance's finds the image at its next look. On globalThis: the routes and
 * the indexer may hold separate copies of this module.
 */
const waiting: Set<() => void> = ((globalThis as { __imageIndexWaiting?: Set<() => void> }).__imageIndexWaiting ??= new Set());

/** Ends every idle pause now (a new image is in the database). */
export function wakeImageIndexer(): void {
  for (const wake of [...waiting]) wake();
}

/** Resolves with true when woken, with false after `ms`. */
export function idlePause(ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (woken: boolean) => {
      waiting.delete(wake);
      clearTimeout(timer);
      resolve(woken);
    };
    const wake = () => done(true);
    const timer = setTimeout(() => done(false), ms).unref();
    waiting.add(wake);
  });
}
