/** One holder per key at a time; others wait in arrival order. */
export class KeyedMutex {
  private tails = new Map<string, Promise<void>>();

  /** Waits for `key`, then holds it; call the returned function to release. */
  async acquire(key: string): Promise<() => void> {
    const before = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = before.then(() => mine);
    this.tails.set(key, tail);
    await before;
    return () => {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }
}
