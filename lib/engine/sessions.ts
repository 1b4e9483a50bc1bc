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
   * @param dir folder for the state files (created)
   * @param budgetBytes total size kept; default 2 GiB
   * @param persist keep the files an earlier process saved (the folder must
   *   then belong to one model: see `modelStateDir`). Default false: the
   *   folder is emptied at start.
   */
  constructor(
    readonly dir: string,
    readonly budgetBytes = 2 * 1024 ** 3,
    readonly persist = false,
  ) {
    if (!persist) fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    if (persist) {
      // Earlier files are known by name only until their conversation asks for them.
      const files = fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(".bin"))
        .map((f) => ({ f, st: fs.statSync(path.join(dir, f)) }))
        .sort((a, b) => a.st.mtimeMs - b.st.mtimeMs);
      for (const { f, st } of files) this.entries.set(`file:${f}`, { file: path.join(dir, f), bytes: st.size });
    }
  }

  /** The file name (no folder) a key's state is saved under. */
  fileName(key: string): string {
    return stateFileName(key);
  }

  private fileFor(key: string) {
    return path.join(this.dir, this.fileName(key));
  }

  /** The state file to load for `key`, if one is cached. Marks it most recently used. */
  lookup(key: string): string | undefined {
    const entry = this.entries.get(key) ?? this.adopt(key);
    if (!entry || !fs.existsSync(entry.file)) {
      this.entries.delete(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.file;
  }

  /** A file saved for `key` by an earlier process, now known by its key. */
  private adopt(key: string) {
    const name = this.fileName(key);
    const entry = this.entries.get(`file:${name}`);
    if (entry) this.entries.delete(`file:${name}`);
    return entry;
  }

  /** Where to save `key`'s state next. */
  target(key: string): string {
    return this.fileFor(key);
  }

  /** Records a saved state file and evicts the oldest beyond the budget. */
  commit(key: string): void {
    this.adopt(key);
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

  /**
   * Removes a state. A conversation's own key (no adapter variant) removes
   * its states under every adapter set too, known or left by an earlier process.
   */
  remove(key: string): void {
    this.adopt(key);
    const file = this.entries.get(key)?.file ?? (key.startsWith("file:") ? path.join(this.dir, key.slice(5)) : this.fileFor(key));
    this.entries.delete(key);
    fs.rmSync(file, { force: true });
    fs.rmSync(`${file}.meta`, { force: true });
    if (key.startsWith("file:") || key.includes(VARIANT)) return;
    const prefix = `${conversationHash(key)}.`;
    for (const k of [...this.entries.keys()]) {
      if (k.startsWith(`${key}${VARIANT}`) || k.startsWith(`file:${prefix}`)) this.remove(k);
    }
    removeByPrefix(this.dir, prefix);
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    for (const key of [...this.entries.keys()]) this.remove(key);
  }
}

/** Separates a conversation's key from the adapter set its state was computed with. */
const VARIANT = "\u0000adapters:";

/**
 * The key of a conversation's state computed with a set of LoRA adapters
 * (`adapterSignature`): KV computed with one adapter set is wrong under
 * another, so each set has its own saved state. No adapters: the
 * conversation's own key.
 */
export function stateKeyFor(sessionKey: string, adapterSignature: string): string {
  return adapterSignature ? `${sessionKey}${VARIANT}${adapterSignature}` : sessionKey;
}

/** The conversation's key without any adapter variant. */
export const conversationOf = (key: string) => (key.includes(VARIANT) ? key.slice(0, key.indexOf(VARIANT)) : key);

const conversationHash = (conversation: string) => createHash("sha256").update(conversation).digest("hex").slice(0, 32);

/**
 * The file name (no folder) a conversation's state is saved under, in any
 * store: `<hash>.bin`, or `<hash>.<variant hash>.bin` with adapters, so every
 * state of one conversation shares the prefix `<hash>.`.
 */
export function stateFileName(key: string): string {
  const i = key.indexOf(VARIANT);
  if (i < 0) return `${conversationHash(key)}.bin`;
  return `${conversationHash(key.slice(0, i))}.${createHash("sha256").update(key.slice(i)).digest("hex").slice(0, 16)}.bin`;
}

function removeByPrefix(dir: string, prefix: string) {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) if (n.startsWith(prefix)) fs.rmSync(path.join(dir, n), { force: true });
}

/**
 * Removes a conversation's saved states from every per-model folder under
 * `root` (a deleted conversation leaves nothing behind, whichever model or
 * engine saved it).
 */
export function removeSavedStates(root: string, key: string): void {
  let dirs: string[];
  try {
    dirs = fs.readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => path.join(root, d.name));
  } catch {
    return;
  }
  // Every state of the conversation, whatever adapters it was computed with.
  for (const dir of dirs) removeByPrefix(dir, `${conversationHash(conversationOf(key))}.`);
}
