/**
 * Which files of a hub repository make a model, chosen the way
 * `llama-server -hf <repo>[:<quant>]` chooses them (llama.cpp
 * common/download.cpp: find_best_model, find_best_sibling), so a name
 * pulls the same pair here as there:
 *
 * - the language model: the first `.gguf` whose path holds the quant asked
 *   for followed by `.` or `-` (case-insensitive); without a quant, Q4_K_M,
 *   else Q8_0, else the first language model in the listing;
 * - the projector: a `.gguf` with `mmproj` in its path, in the model's folder
 *   or a folder above it (the deepest wins), nearest in bit width to the
 *   model (Q4_K_M → 4, Q8_0 → 8, F16 → 16).
 */

export interface HubFile {
  /** Path inside the repository (`sub/dir/model-Q4_K_M.gguf`). */
  path: string;
  /** Bytes. */
  size: number;
  /** SHA-256 of the content (the hub's LFS oid), or null for a file not in LFS. */
  sha256: string | null;
}

export interface ChosenFiles {
  model: HubFile;
  /** The projector, or null: the repository has none, and the model is text-only. */
  mmproj: HubFile | null;
  /** The quant tag of the model file (`Q4_K_M`), or its file stem when it has none. */
  tag: string;
}

const base = (p: string) => p.slice(p.lastIndexOf("/") + 1);

/** `model-Q4_K_M-00001-of-00003.gguf` → prefix, tag, part index and count (get_gguf_split_info). */
export function splitInfo(path: string): { prefix: string; tag: string; index: number; count: number } {
  let prefix = path.replace(/\.gguf$/i, "");
  let index = 1;
  let count = 1;
  const split = /^(.+)-([0-9]{5})-of-([0-9]{5})$/i.exec(prefix);
  if (split) {
    prefix = split[1]!;
    index = Number(split[2]);
    count = Number(split[3]);
  }
  const tag = /[-.]([A-Z0-9_]+)$/i.exec(prefix)?.[1]?.toUpperCase() ?? "";
  return { prefix, tag, index, count };
}

/**
 * Every part of a split language model, in order, from the repository's
 * listing (the parts llama.cpp will look for beside the first, same folder
 * and prefix); `missing` names parts the listing lacks. One file: itself.
 */
export function modelParts(files: HubFile[], model: HubFile): { parts: HubFile[]; missing: string[] } {
  const { count } = splitInfo(model.path);
  if (count <= 1) return { parts: [model], missing: [] };
  const stem = model.path.replace(/-[0-9]{5}-of-[0-9]{5}\.gguf$/i, "");
  const names = Array.from({ length: count }, (_, i) => `${stem}-${String(i + 1).padStart(5, "0")}-of-${String(count).padStart(5, "0")}.gguf`);
  const byPath = new Map(files.map((f) => [f.path, f]));
  return { parts: names.flatMap((n) => byPath.get(n) ?? []), missing: names.filter((n) => !byPath.has(n)) };
}

/** Q4_0 → 4, F16 → 16, Q8_K_M → 8; 0 when the tag has no digits. */
export function quantBits(path: string): number {
  const digits = /[0-9]+/.exec(splitInfo(path).tag);
  return digits ? Number(digits[0]) : 0;
}

const isGguf = (p: string) => p.endsWith(".gguf");

/** A language-model file: not a projector, an imatrix or a draft/speculative head. */
export function isLanguageModelFile(path: string): boolean {
  const name = base(path);
  return isGguf(path) && !["mmproj", "imatrix", "mtp-", "eagle3-", "dflash-", "dspark-"].some((k) => name.includes(k));
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The language-model file for `quant` (or the default order), or null. */
export function chooseModelFile(files: HubFile[], quant: string | null): HubFile | null {
  const firstPart = (f: HubFile) => {
    const s = splitInfo(f.path);
    return s.count <= 1 || s.index === 1;
  };
  for (const tag of quant ? [quant] : ["Q4_K_M", "Q8_0"]) {
    const pattern = new RegExp(`${escape(tag)}[.-]`, "i");
    const hit = files.find((f) => isLanguageModelFile(f.path) && pattern.test(f.path) && firstPart(f));
    if (hit) return hit;
  }
  if (quant) return null;
  return files.find((f) => isLanguageModelFile(f.path) && firstPart(f)) ?? null;
}

/** The projector beside `model` (its folder or above, deepest first, then nearest bit width), or null. */
export function chooseProjector(files: HubFile[], model: HubFile): HubFile | null {
  const modelDirs = model.path.split("/").slice(0, -1);
  const modelBits = quantBits(model.path);
  let best: { file: HubFile; depth: number; diff: number } | null = null;
  for (const f of files) {
    if (!isGguf(f.path) || !f.path.includes("mmproj")) continue;
    const dirs = f.path.split("/").slice(0, -1);
    // The projector's folder must be the model's folder or one above it.
    if (dirs.length > modelDirs.length || dirs.some((d, i) => d !== modelDirs[i])) continue;
    const depth = dirs.length;
    const diff = Math.abs(quantBits(f.path) - modelBits);
    if (!best || depth > best.depth || (depth === best.depth && diff < best.diff)) best = { file: f, depth, diff };
  }
  return best?.file ?? null;
}

/** The model and projector files to pull, or null when no file matches. */
export function chooseFiles(files: HubFile[], quant: string | null): ChosenFiles | null {
  const model = chooseModelFile(files, quant);
  if (!model) return null;
  const tag = splitInfo(base(model.path)).tag || base(model.path).replace(/\.gguf$/i, "");
  return { model, mmproj: chooseProjector(files, model), tag };
}

/** The quant tags a repository offers, for a "did you mean" message. */
export function availableQuants(files: HubFile[]): string[] {
  return [...new Set(files.filter((f) => isLanguageModelFile(f.path)).map((f) => splitInfo(base(f.path)).tag).filter(Boolean))].sort();
}
