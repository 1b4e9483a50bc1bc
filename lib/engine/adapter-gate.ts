/**
 * Serialises answers by adapter set where adapters are context-wide (the
 * in-process binding: `applyLoraAdapters` sets them for every parallel slot
 * at once). Answers with the set now applied run together; an answer with
 * another set waits until every running answer has ended, then the set is
 * switched and it runs. So an answer with adapter X never runs while the
 * context has Y.
 *
 * Fair in arrival order: once an answer waits for a switch, later answers
 * with the current set queue behind it rather than keeping the switch off
 * for ever. When a switch happens, every waiting answer with the new set is
 * let in together (they share the context's set).
 */
export class AdapterGate<T = string> {
  private current = "";
  private running = 0;
  private readonly waiting: { set: string; value: T; admit: (error?: unknown) => void }[] = [];

  /** @param apply switches the context to a set (its key and what the caller gave with it); called only while nothing runs. */
  constructor(private readonly apply: (set: string, value: T) => void | Promise<void>) {}

  /** The set the context has now ("" for none). */
  get applied(): string {
    return this.current;
  }

  /**
   * Waits until answers with `set` (a key; `value` is what `apply` gets) may
   * run, switching to it when needed.
   * Returns the release to call when the answer ends; null when `signal`
   * aborted while waiting.
   */
  async enter(set: string, value: T, signal?: AbortSignal): Promise<(() => void) | null> {
    if (!this.waiting.length && (set === this.current || this.running === 0)) {
      this.running++;
      try {
        if (set !== this.current) await this.switchTo(set, value);
      } catch (err) {
        this.leave();
        throw err;
      }
      return this.releaser();
    }
    const outcome = await new Promise<{ admitted: boolean; error?: unknown }>((resolve) => {
      const entry = { set, value, admit: (error?: unknown) => resolve({ admitted: true, error }) };
      this.waiting.push(entry);
      signal?.addEventListener(
        "abort",
        () => {
          const i = this.waiting.indexOf(entry);
          if (i < 0) return;
          this.waiting.splice(i, 1);
          resolve({ admitted: false });
          // The first waiter may have been held only behind this one.
          if (this.running === 0) void this.next();
        },
        { once: true },
      );
    });
    if (!outcome.admitted) return null;
    const release = this.releaser();
    if (outcome.error) {
      release();
      throw outcome.error;
    }
    return release;
  }

  private releaser() {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.leave();
    };
  }

  private async switchTo(set: string, value: T) {
    this.current = "\0switching";
    try {
      await this.apply(set, value);
      this.current = set;
    } catch (err) {
      // Unknown state: the next answer switches again, whatever its set.
      this.current = "\0unknown";
      throw err;
    }
  }

  private leave() {
    this.running--;
    if (this.running === 0) void this.next();
  }

  /** Nothing runs: switch to the first waiter's set and let in every waiter with it. */
  private async next() {
    const first = this.waiting[0];
    if (!first || this.running > 0) return;
    const batch = this.waiting.filter((w) => w.set === first.set);
    for (const w of batch) this.waiting.splice(this.waiting.indexOf(w), 1);
    this.running += batch.length;
    let error: unknown;
    try {
      if (first.set !== this.current) await this.switchTo(first.set, first.value);
    } catch (err) {
      // Each of them fails with the reason (and releases); none runs on a set it did not ask for.
      error = err;
    }
    for (const w of batch) w.admit(error);
  }
}
