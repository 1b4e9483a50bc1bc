import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/**
 * Saved per-conversation model state (KV cache, image chunks included) on
 * disk, least recently used first out under a byte budget. The database
 * owns the history; a missing or evicted file only means the next turn
 * evaluates the whole prompt again.
 */
export class SessionStore {
  private readonly entries = new Map<string, { file: string; bytes: number }>();

  /**
   * @param dir folder for the state files (created; emptied at start, since
   *   files from an earlier process may belong to another model)
   * @param budgetBytes total size kept; default 2 GiB
   */
  constructor(
    readonly dir: string,
    readonly budgetBytes = 2 * 1024 ** 3,
  ) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
  }

  private fileFor(key: string) {
    return path.join(this.dir, `${createHash("sha256").update(key).digest("hex").slice(0, 32)}.bin`);
  }

  /** The state file to load for `key`, if one is cached. Marks it most recently used. */
  lookup(key: string): string | undefined {
    const entry = this.entries.get(key);
    if (!entry || !fs.existsSync(entry.file)) {
      this.entries.delete(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.file;
  }

  /** Where to save `key`'s state next. */
  target(key: string): string {
    return this.fileFor(key);
  }

  /** Records a saved state file and evicts the oldest beyond the budget. */
  commit(key: string): void {
    const file = this.fileFor(key);
    if (!fs.existsSync(file)) return;
    const bytes = fs.statSync(file).size + (fs.existsSync(`${file}.meta`) ? fs.statSync(`${file}.meta`).size : 0);
    this.entries.delete(key);
    this.entries.set(key, { file, bytes });
    let total = [...this.entries.values()].reduce((a, e) => a + e.bytes, 0);
    for (const [k, e] of this.entries) {
      if (total <= this.budgetBytes || k === key) break;
      this.remove(k);
      total -= e.bytes;
    }
  }

  remove(key: string): void {
    const file = this.entries.get(key)?.file ?? this.fileFor(key);
    this.entries.delete(key);
    fs.rmSync(file, { force: true });
    fs.rmSync(`${file}.meta`, { force: true });
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    for (const key of [...this.entries.keys()]) this.remove(key);
  }
}
