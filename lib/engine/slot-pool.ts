import { EngineError } from "./errors";

/**
 * A counting semaphore with a bounded FIFO queue. `acquire` resolves to a
 * release function, or to null when the caller's signal aborted while it
 * waited; it throws `queue_full` when the queue is already at its limit,
 * unless the caller admitted the request itself (`pastLimit`).
 */
export class SlotPool {
  busy = 0;
  private queue: { resolve: (release: (() => void) | null) => void; signal?: AbortSignal; onAbort?: () => void }[] = [];
  closed = false;
  private readonly listeners = new Set<(busy: boolean) => void>();
  private wasBusy = false;

  constructor(
    readonly capacity: number,
    readonly queueLimit: number,
  ) {}

  get waiting(): number {
    return this.queue.length;
  }

  /** True while any request holds a slot or waits for one. */
  isBusy(): boolean {
    return this.busy + this.queue.length > 0;
  }

  /**
   * Calls `listener` (synchronously, before the new holder's work starts)
   * each time the pool goes from idle to busy or back. Returns the unsubscribe.
   */
  onChange(listener: (busy: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    const busy = this.isBusy();
    if (busy === this.wasBusy) return;
    this.wasBusy = busy;
    for (const l of this.listeners) {
      try {
        l(busy);
      } catch (err) {
        // A listener's failure must not leak the slot being taken or given back.
        console.warn(`[engine] a slot listener failed: ${(err as Error).message}`);
      }
    }
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.queue.shift();
      if (next) {
        next.signal?.removeEventListener("abort", next.onAbort!);
        next.resolve(this.releaser());
      } else {
        this.busy--;
        this.changed();
      }
    };
  }

  async acquire(signal?: AbortSignal, { pastLimit = false }: { pastLimit?: boolean } = {}): Promise<(() => void) | null> {
    if (this.closed) throw new EngineError("disposed", "The model was unloaded.");
    if (signal?.aborted) return null;
    if (this.busy < this.capacity) {
      this.busy++;
      this.changed();
      return this.releaser();
    }
    if (this.queue.length >= this.queueLimit && !pastLimit) {
      throw new EngineError(
        "queue_full",
        `The model is busy: ${this.busy} answers are being generated and ${this.queue.length} are waiting. Try again in a few seconds.`,
        5,
      );
    }
    return new Promise((resolve) => {
      const entry: (typeof this.queue)[number] = { resolve, signal };
      entry.onAbort = () => {
        this.queue = this.queue.filter((e) => e !== entry);
        resolve(null);
      };
      signal?.addEventListener("abort", entry.onAbort, { once: true });
      this.queue.push(entry);
    });
  }

  close(): void {
    this.closed = true;
    for (const e of this.queue.splice(0)) e.resolve(null);
  }
}
