import fs from "node:fs";
import path from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { adaptersForModel, isAdapterFile, readAdapterFiles, type CatalogAdapter } from "./adapters";
import { EngineError } from "./errors";
import { familyOfProjector, type ClipMeta, type FamilyId } from "./families";
import { audioFamilyOfProjector, audioProjectorType, type AudioFamilyId } from "./families/audio";

/**
 * The model catalog: scans a folder (and explicit paths) for GGUF files,
 * reads their metadata without loading weights, and pairs each language
 * model with its mmproj (vision projector). Nothing here touches a GPU.
 */

export interface CatalogModel {
  /** Stable id: the language model's file name without `.gguf` (and without `-00001-of-0000N` when split). */
  id: string;
  name: string;
  /** The language model's file (its first part when split: the one llama.cpp is given). */
  path: string;
  /** Every file of a language model split in parts (llama-gguf-split), in order; absent for one file. */
  parts?: string[];
  architecture: string;
  parameters: number;
  fileType: string;
  contextLength: number | null;
  embeddingLength: number | null;
  hasChatTemplate: boolean;
  /** Bytes of the language model (every part). */
  sizeBytes: number;
  /** KV-cache bytes one token of context costs (f16 keys and values over every layer), or null when the metadata does not say. */
  kvBytesPerToken?: number | null;
  vision: {
    mmprojPath: string;
    projectorType: string;
    imageSize: number | null;
    patchSize: number | null;
    /** The model family (its image-token rule and badge), or null for a projector of no family we know. */
    family: { id: FamilyId; label: string } | null;
    /** The mmproj's `clip.*` metadata, flattened to dotted keys: what the family's image-token rule reads. */
    clip: ClipMeta;
  } | null;
  /**
   * The projector's audio side, when it has an audio encoder (Ultravox,
   * Qwen2.5-Omni…): the model then hears audio natively. An audio-only
   * projector has `vision` null and its file here; one with both encoders
   * (Qwen2.5-Omni) is in both, with the same file.
   */
  audio?: {
    mmprojPath: string;
    projectorType: string;
    /** The audio family (its clip-token rule and badge), or null for a projector of no family we know. */
    family: { id: AudioFamilyId; label: string } | null;
    clip: ClipMeta;
  } | null;
  /**
   * LoRA adapters found for it (`*.lora.gguf` beside it, or anywhere in the
   * models folder with its weights fingerprint), refused ones included with
   * the reason. Absent when there are none.
   */
  adapters?: CatalogAdapter[];
}

export interface CatalogProblem {
  path: string;
  code: EngineError["code"];
  message: string;
}

export interface Catalog {
  models: CatalogModel[];
  /** Files that were skipped, each with the reason. */
  problems: CatalogProblem[];
}

/** Projector types libmtmd (the llama.node build) can run for images. */
const SUPPORTED_PROJECTORS = new Set([
  "mlp",
  "mlp_norm",
  "ldp",
  "ldpv2",
  "resampler",
  "glm_edge",
  "adapter",
  "merger",
  "gemma3",
  "idefics3",
  "pixtral",
  "qwen2vl_merger",
  "qwen2.5vl_merger",
  "qwen3vl_merger",
  "llama4",
  "internvl",
  "kimivl",
  "lfm2",
  "lightonocr",
  "cogvlm",
  "janus_pro",
  // Qwen2.5-Omni: one projector for images (run as qwen2.5vl_merger) and audio (run as qwen2a).
  "qwen2.5o",
]);

/** Audio projector types libmtmd runs (Whisper-style encoders and others), from `clip.audio.projector_type` or the shared key. */
const AUDIO_PROJECTORS = new Set(["ultravox", "qwen2a", "qwen2.5o", "voxtral", "glma", "lfm2a", "musicflamingo", "meralion"]);

/** Bytes per block and block size of common ggml types (for the truncation check). */
const GGML_TYPE_SIZE: Record<number, [bytes: number, block: number]> = {
  0: [4, 1], // F32
  1: [2, 1], // F16
  2: [18, 32], // Q4_0
  3: [20, 32], // Q4_1
  6: [22, 32], // Q5_0
  7: [24, 32], // Q5_1
  8: [34, 32], // Q8_0
  10: [84, 256], // Q2_K
  11: [110, 256], // Q3_K
  12: [144, 256], // Q4_K
  13: [176, 256], // Q5_K
  14: [210, 256], // Q6_K
  15: [292, 256], // Q8_K
  30: [2, 1], // BF16
};

const FILE_TYPES: Record<number, string> = {
  0: "F32",
  1: "F16",
  2: "Q4_0",
  3: "Q4_1",
  7: "Q8_0",
  8: "Q5_0",
  9: "Q5_1",
  10: "Q2_K",
  11: "Q3_K_S",
  12: "Q3_K_M",
  13: "Q3_K_L",
  14: "Q4_K_S",
  15: "Q4_K_M",
  16: "Q5_K_S",
  17: "Q5_K_M",
  18: "Q6_K",
  32: "BF16",
};

interface RawGguf {
  path: string;
  sizeBytes: number;
  architecture: string;
  name: string;
  fileType: string;
  parameters: number;
  meta: Record<string, unknown>;
  /** Every part, when the model is split (see joinSplit). */
  parts?: string[];
}

const HEAVY_KEYS = ["tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type", "tokenizer.ggml.merges"];

function get(meta: Record<string, unknown>, dotted: string): unknown {
  return dotted.split(".").reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), meta);
}

const num = (v: unknown): number | null => (typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : null);

/**
 * Metadata already read, by path, size and modification time: the catalog is
 * scanned on every listing (so files pulled or copied in while the app runs
 * show up at once), and an unchanged file is not parsed again.
 */
const metaCache = ((globalThis as { __ggufMetaCache?: Map<string, RawGguf> }).__ggufMetaCache ??= new Map());

/** Reads one GGUF's metadata; throws EngineError `not_gguf` / `truncated` with the file named. */
export async function readGguf(file: string): Promise<RawGguf> {
  const stat = fs.statSync(file);
  const key = `${file}\0${stat.size}\0${stat.mtimeMs}`;
  const cached = metaCache.get(key);
  if (cached) return cached;
  const raw = await readGgufUncached(file, stat);
  for (const k of metaCache.keys()) if (k.startsWith(`${file}\0`)) metaCache.delete(k);
  if (metaCache.size > 256) metaCache.clear();
  metaCache.set(key, raw);
  return raw;
}

async function readGgufUncached(file: string, stat: fs.Stats): Promise<RawGguf> {
  const base = path.basename(file);
  const fd = fs.openSync(file, "r");
  const magic = Buffer.alloc(4);
  fs.readSync(fd, magic, 0, 4, 0);
  fs.closeSync(fd);
  if (magic.toString("latin1") !== "GGUF") {
    throw new EngineError("not_gguf", `${base} is not a GGUF file (it starts with ${JSON.stringify(magic.toString("latin1"))}, not "GGUF").`);
  }
  let info: Awaited<ReturnType<typeof readGgufFileInfo>>;
  try {
    info = await readGgufFileInfo(file, { logWarnings: false, ignoreKeys: HEAVY_KEYS, sourceType: "filesystem", spliceSplitFiles: false });
  } catch (err) {
    throw new EngineError("truncated", `${base} is truncated or damaged: its header cannot be read (${(err as Error).message}).`);
  }
  const tensors = info.tensorInfo ?? [];
  let parameters = 0;
  let end = info.infoEndOffset ?? 0;
  for (const t of tensors) {
    const count = t.dimensions.reduce<number>((a, d) => a * Number(d), 1);
    parameters += count;
    const size = GGML_TYPE_SIZE[t.ggmlType];
    if (size) end = Math.max(end, Number(t.fileOffset) + (count / size[1]) * size[0]);
  }
  if (stat.size < end) {
    throw new EngineError(
      "truncated",
      `${base} is truncated: it has ${stat.size} bytes but its tensors need ${end}. Download it again.`,
    );
  }
  const meta = info.metadata as unknown as Record<string, unknown>;
  const fileType = num(get(meta, "general.file_type"));
  return {
    path: file,
    sizeBytes: stat.size,
    architecture: String(get(meta, "general.architecture") ?? "unknown"),
    name: String(get(meta, "general.name") ?? base.replace(/\.gguf$/i, "")),
    fileType: fileType === null ? "unknown" : (FILE_TYPES[fileType] ?? `type ${fileType}`),
    parameters,
    meta,
  };
}

function listGguf(dir: string, depth = 3): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && depth > 0 && !entry.name.startsWith(".") && entry.name !== "node_modules") {
      out.push(...listGguf(full, depth - 1));
    } else if (entry.isFile() && /\.gguf$/i.test(entry.name)) {
      out.push(full);
    }
  }
  return out.sort();
}

/** `mmproj-foo.gguf`, `foo.mmproj.gguf`, `foo-mmproj-f16.gguf` → `foo`. */
export function mmprojStem(file: string): string {
  return path
    .basename(file)
    .replace(/\.gguf$/i, "")
    .replace(/^mmproj[-_.]?/i, "")
    .replace(/[-_.]?mmproj([-_.](f16|f32|bf16|q8_0))?$/i, "")
    .toLowerCase();
}

/** `foo.gguf` and `foo-00001-of-00003.gguf` → `foo`. */
const llmId = (file: string) => path.basename(file).replace(SPLIT_SUFFIX, "").replace(/\.gguf$/i, "");
const llmStem = (file: string) => llmId(file).toLowerCase();

/** llama.cpp's name for part i of n (llama_split_path): `<prefix>-0000i-of-0000n.gguf`. */
const SPLIT_SUFFIX = /-(\d{5})-of-(\d{5})\.gguf$/i;

/**
 * A language model split in parts: reads every part (each must be whole),
 * and gives the first part's metadata with the size and parameters of all.
 * A missing part is an error naming it: llama.cpp would refuse to load.
 */
async function joinSplit(first: RawGguf): Promise<RawGguf> {
  const m = SPLIT_SUFFIX.exec(first.path);
  const count = m ? Number(m[2]) : 1;
  if (count <= 1) return first;
  const prefix = first.path.slice(0, -m![0].length);
  const parts = Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(5, "0")}-of-${m![2]}.gguf`);
  const missing = parts.filter((f) => !fs.existsSync(f));
  if (missing.length) {
    throw new EngineError(
      "truncated",
      `${path.basename(first.path)} is part 1 of ${count}, but ${missing.map((f) => path.basename(f)).join(", ")} ${missing.length === 1 ? "is" : "are"} missing. Put every part in the same folder.`,
    );
  }
  const rest = await Promise.all(parts.slice(1).map((f) => readGguf(f)));
  return {
    ...first,
    sizeBytes: first.sizeBytes + rest.reduce((n, r) => n + r.sizeBytes, 0),
    parameters: first.parameters + rest.reduce((n, r) => n + r.parameters, 0),
    parts,
  };
}

/** `{clip: {vision: {image_size: 336}}}` → `{"clip.vision.image_size": 336}` (arrays stay whole). */
export function flattenMeta(value: unknown, prefix = "", out: Record<string, unknown> = {}): Record<string, unknown> {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flattenMeta(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out[prefix] = value;
  }
  return out;
}

interface Projector {
  /** The vision projector type, or "" for an audio-only projector. */
  type: string;
  /** The audio projector type, or null without an audio encoder. */
  audioType: string | null;
  dim: number | null;
  clip: ClipMeta;
}

function projectorOf(raw: RawGguf): Projector {
  const clip = flattenMeta(get(raw.meta, "clip"), "clip");
  const hasVision = get(raw.meta, "clip.has_vision_encoder") !== false;
  const hasAudio = get(raw.meta, "clip.has_audio_encoder") === true;
  let audioType: string | null = null;
  if (hasAudio) {
    audioType = audioProjectorType(clip) ?? "";
    if (!AUDIO_PROJECTORS.has(audioType)) {
      throw new EngineError(
        "unsupported_projector",
        `${path.basename(raw.path)} uses audio projector type "${audioType}", which this build cannot run. Supported: ${[...AUDIO_PROJECTORS].join(", ")}.`,
      );
    }
  }
  if (!hasVision) {
    if (!hasAudio) throw new EngineError("unsupported_projector", `${path.basename(raw.path)} has neither a vision nor an audio encoder.`);
    const dim = num(get(raw.meta, "clip.audio.projection_dim")) || null;
    return { type: "", audioType, dim, clip };
  }
  const type = String(get(raw.meta, "clip.projector_type") ?? get(raw.meta, "clip.vision.projector_type") ?? "mlp");
  if (!SUPPORTED_PROJECTORS.has(type)) {
    throw new EngineError(
      "unsupported_projector",
      `${path.basename(raw.path)} uses projector type "${type}", which this build cannot run. Supported: ${[...SUPPORTED_PROJECTORS].join(", ")}.`,
    );
  }
  // MiniCPM-V's converter writes projection_dim 0: unknown, not a width.
  const dim = num(get(raw.meta, "clip.vision.projection_dim")) || null;
  return { type, audioType, dim, clip };
}

/**
 * Why this projector cannot drive this language model, or null when it can:
 * a projector of a known family pairs only with that family's
 * architectures (a Qwen2.5-VL projector feeds M-RoPE positions that a
 * Gemma 3 model cannot take), and its output width must equal the model's.
 */
function pairProblem(llm: RawGguf, proj: Projector, mmprojName: string): { code: "width_mismatch" | "family_mismatch"; message: string } | null {
  const family = proj.type ? familyOfProjector(proj.type, proj.clip) : undefined;
  if (family?.strictArchitecture && !family.architectures.includes(llm.architecture)) {
    return {
      code: "family_mismatch",
      message: `${mmprojName} is a ${family.label} projector, but ${path.basename(llm.path)} is a "${llm.architecture}" language model (${family.label} needs ${family.architectures.join(" or ")}): they do not belong together.`,
    };
  }
  const width = num(get(llm.meta, `${llm.architecture}.embedding_length`));
  if (proj.dim !== null && width !== null && proj.dim !== width) {
    return {
      code: "width_mismatch",
      message: `${mmprojName} projects to ${proj.dim} dimensions but ${path.basename(llm.path)} expects ${width}: they do not belong together.`,
    };
  }
  return null;
}

/** f16 K and V for every layer: 2 × layers × KV heads × head width × 2 bytes (per-layer head counts summed). */
function kvBytesPerToken(raw: RawGguf): number | null {
  const arch = raw.architecture;
  const layers = num(get(raw.meta, `${arch}.block_count`));
  const width = num(get(raw.meta, `${arch}.embedding_length`));
  const headsRaw = get(raw.meta, `${arch}.attention.head_count`);
  const kvRaw = get(raw.meta, `${arch}.attention.head_count_kv`) ?? headsRaw;
  const first = (v: unknown) => (Array.isArray(v) ? num(v.find((x) => Number(x) > 0)) : num(v));
  const heads = first(headsRaw);
  const keyWidth = num(get(raw.meta, `${arch}.attention.key_length`)) ?? (width && heads ? width / heads : null);
  const valueWidth = num(get(raw.meta, `${arch}.attention.value_length`)) ?? keyWidth;
  if (!layers || !keyWidth || !valueWidth) return null;
  const kvHeads = Array.isArray(kvRaw) ? kvRaw.reduce<number>((a, x) => a + Number(x), 0) : (num(kvRaw) ?? 0) * layers;
  return kvHeads > 0 ? kvHeads * (keyWidth + valueWidth) * 2 : null;
}

function describe(raw: RawGguf, mmproj: RawGguf | null, proj: Projector | null): CatalogModel {
  const arch = raw.architecture;
  const family = proj?.type ? familyOfProjector(proj.type, proj.clip) : undefined;
  const audioFamily = proj?.audioType ? audioFamilyOfProjector(proj.audioType) : undefined;
  return {
    id: llmId(raw.path),
    ...(raw.parts ? { parts: raw.parts } : {}),
    name: raw.name,
    path: raw.path,
    architecture: arch,
    parameters: raw.parameters,
    fileType: raw.fileType,
    contextLength: num(get(raw.meta, `${arch}.context_length`)),
    embeddingLength: num(get(raw.meta, `${arch}.embedding_length`)),
    hasChatTemplate: typeof get(raw.meta, "tokenizer.chat_template") === "string",
    sizeBytes: raw.sizeBytes,
    kvBytesPerToken: kvBytesPerToken(raw),
    vision:
      mmproj && proj?.type
        ? {
            mmprojPath: mmproj.path,
            projectorType: proj.type,
            imageSize: num(get(mmproj.meta, "clip.vision.image_size")),
            patchSize: num(get(mmproj.meta, "clip.vision.patch_size")),
            family: family ? { id: family.id, label: family.label } : null,
            clip: proj.clip,
          }
        : null,
    audio:
      mmproj && proj?.audioType
        ? {
            mmprojPath: mmproj.path,
            projectorType: proj.audioType,
            family: audioFamily ? { id: audioFamily.id, label: audioFamily.label } : null,
            clip: proj.clip,
          }
        : null,
  };
}

/** Pairs one explicit LLM with one explicit mmproj, or throws with the reason. */
async function explicitPair(modelPath: string, mmprojPath?: string): Promise<CatalogModel> {
  if (!fs.existsSync(modelPath)) throw new EngineError("no_model", `MODEL_PATH ${modelPath} does not exist.`);
  const llm = await joinSplit(await readGguf(modelPath));
  if (llm.architecture === "clip") {
    throw new EngineError("orphan_mmproj", `MODEL_PATH ${path.basename(modelPath)} is a vision projector (mmproj), not a language model. Put it in MMPROJ_PATH.`);
  }
  if (!mmprojPath) return describe(llm, null, null);
  if (!fs.existsSync(mmprojPath)) throw new EngineError("no_model", `MMPROJ_PATH ${mmprojPath} does not exist.`);
  const mm = await readGguf(mmprojPath);
  if (mm.architecture !== "clip") {
    throw new EngineError("unsupported_projector", `MMPROJ_PATH ${path.basename(mmprojPath)} is a "${mm.architecture}" model, not a vision projector.`);
  }
  const proj = projectorOf(mm);
  const problem = pairProblem(llm, proj, path.basename(mmprojPath));
  if (problem) throw new EngineError(problem.code, problem.message);
  return describe(llm, mm, proj);
}

/**
 * Scans `dir` (three levels deep) for GGUF files and pairs them. Problems
 * with single files are collected, not thrown, so one broken download does
 * not hide the other models.
 */
export async function scanCatalog({ dir, modelPath, mmprojPath }: { dir: string; modelPath?: string; mmprojPath?: string }): Promise<Catalog> {
  const problems: CatalogProblem[] = [];
  const models: CatalogModel[] = [];
  if (modelPath) models.push(await explicitPair(modelPath, mmprojPath));

  // Adapters are GGUFs too (general.type "adapter"), but never models.
  const files = listGguf(dir);
  const adapterPaths = new Set(files.filter(isAdapterFile));
  if (modelPath && fs.existsSync(path.dirname(modelPath))) {
    for (const f of fs.readdirSync(path.dirname(modelPath))) if (isAdapterFile(f)) adapterPaths.add(path.join(path.dirname(modelPath), f));
  }

  const llms: RawGguf[] = [];
  const projectors: ({ raw: RawGguf } & Projector)[] = [];
  for (const file of files) {
    if (file === modelPath || file === mmprojPath || adapterPaths.has(file)) continue;
    // Parts 2… of a split model are read with its first part.
    const split = SPLIT_SUFFIX.exec(file);
    if (split && Number(split[1]) > 1) continue;
    try {
      const raw = await joinSplit(await readGguf(file));
      if (raw.architecture === "clip") projectors.push({ raw, ...projectorOf(raw) });
      else llms.push(raw);
    } catch (err) {
      if (!(err instanceof EngineError)) throw err;
      problems.push({ path: file, code: err.code, message: err.message });
    }
  }

  const paired = new Map<RawGguf, { raw: RawGguf } & Projector>();
  for (const proj of projectors) {
    const stem = mmprojStem(proj.raw.path);
    const sameDir = llms.filter((l) => path.dirname(l.path) === path.dirname(proj.raw.path));
    const byName = sameDir.find((l) => llmStem(l.path) === stem) ?? sameDir.find((l) => llmStem(l.path).startsWith(stem) || stem.startsWith(llmStem(l.path)));
    const problem = byName && pairProblem(byName, proj, path.basename(proj.raw.path));
    if (problem) {
      problems.push({ path: proj.raw.path, ...problem });
      continue;
    }
    const fits = sameDir.filter((l) => !paired.has(l) && !pairProblem(l, proj, ""));
    const match = byName ?? (fits.length === 1 ? fits[0] : undefined);
    if (!match || paired.has(match)) {
      problems.push({
        path: proj.raw.path,
        code: "orphan_mmproj",
        message: `${path.basename(proj.raw.path)} is a ${proj.type ? "vision" : "audio"} projector, but no language model beside it matches it (width ${proj.dim ?? "?"}). Put its language model in the same folder, named like it (e.g. foo.gguf + mmproj-foo.gguf).`,
      });
      continue;
    }
    paired.set(match, proj);
  }
  for (const llm of llms) {
    const proj = paired.get(llm);
    models.push(describe(llm, proj?.raw ?? null, proj ?? null));
  }
  attachAdapters(models, [...adapterPaths].sort(), problems);
  return { models, problems };
}

/**
 * Lists each model's adapters (see adapters.ts); an adapter that pairs with
 * no model and sits beside none is a problem of its own.
 */
function attachAdapters(models: CatalogModel[], adapterPaths: string[], problems: CatalogProblem[]) {
  if (!adapterPaths.length) return;
  const files = readAdapterFiles(adapterPaths);
  const listed = new Set<string>();
  for (const m of models) {
    if (m.parts) continue; // a split model's weights are not fingerprinted (its first part holds only some tensors)
    const adapters = adaptersForModel(m, files);
    if (!adapters.length) continue;
    m.adapters = adapters;
    for (const a of adapters) listed.add(a.path);
  }
  for (const f of files) {
    if (listed.has(f.path)) continue;
    problems.push({
      path: f.path,
      code: "adapter_refused",
      message: f.error
        ? `${path.basename(f.path)} cannot be read as a LoRA adapter: ${f.error}`
        : `${path.basename(f.path)} is a LoRA adapter for weights no model here has${f.info?.baseName ? ` ("${f.info.baseName}")` : ""}. Put it beside its base model.`,
    });
  }
}

/**
 * The model to load: MODEL_PATH when set, else the first model that can see
 * images or hear audio, else the first model. Throws `no_model` with what was found.
 */
export function pickModel(catalog: Catalog, preferredId?: string): CatalogModel {
  const chosen =
    (preferredId && catalog.models.find((m) => m.id === preferredId)) ||
    // MODEL_PATH's pair is listed first, so it wins over the folder's whether it sees or only hears.
    catalog.models.find((m) => m.vision || m.audio) ||
    catalog.models[0];
  if (chosen) return chosen;
  const why = catalog.problems.length ? ` Skipped: ${catalog.problems.map((p) => p.message).join(" ")}` : "";
  throw new EngineError("no_model", `No usable GGUF language model was found. Put one (and its mmproj for images) in the models folder or set MODEL_PATH.${why}`);
}
