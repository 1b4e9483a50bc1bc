import fs from "node:fs";
import path from "node:path";
import { ggufFingerprint } from "../gguf/fingerprint";
import { LORA_SUFFIX, readLoraInfo } from "../gguf/lora";
import { EngineError } from "./errors";

/**
 * LoRA adapters: found beside a model (`*.lora.gguf`), paired with their
 * base by the weights fingerprint the writer records (lib/gguf/lora.ts,
 * lib/gguf/fingerprint.ts), and chosen per request by name.
 *
 * Pairing is by fingerprint only: an adapter written against other weights
 * (another model, or an earlier training of this one) would load into
 * llama.cpp whenever the tensor shapes agree and quietly answer nonsense,
 * so it is listed as refused with the reason and never loaded.
 */

export interface CatalogAdapter {
  /** The file name without `.lora.gguf`: what requests, settings and ADAPTERS_AUTO name. */
  name: string;
  path: string;
  sizeBytes: number;
  /** Attachment kinds it was trained for (`lvc.adapter.kinds`), e.g. `["chart"]`. */
  kinds: string[];
  description?: string;
  rank: number;
  alpha: number;
  /** Why it can never be loaded with this model (another base, no fingerprint…); absent when it pairs. */
  refused?: string;
}

/** An adapter chosen for one answer, as a backend applies it. */
export interface AdapterUse {
  name: string;
  path: string;
  /** Multiplies the adapter's update (1 = as trained; 0 = off). */
  scale: number;
}

/** What a request asks for: adapter names with optional scales (default 1). */
export interface AdapterRequest {
  name: string;
  scale?: number;
}

/** True for a file the catalog treats as an adapter, not a model. */
export const isAdapterFile = (file: string) => file.toLowerCase().endsWith(LORA_SUFFIX);

const adapterName = (file: string) => path.basename(file).slice(0, -LORA_SUFFIX.length);

/** Fingerprints by path, size and modification time: a multi-GB base is sampled once per change. */
const fingerprints = ((globalThis as { __ggufFingerprints?: Map<string, string> }).__ggufFingerprints ??= new Map());

/** The base-model fingerprint of a GGUF (cached; see lib/gguf/fingerprint.ts). */
export function modelWeightsFingerprint(file: string): string {
  const st = fs.statSync(file);
  const key = `${file}\0${st.size}\0${st.mtimeMs}`;
  let fp = fingerprints.get(key);
  if (!fp) {
    fp = ggufFingerprint(file);
    if (fingerprints.size > 64) fingerprints.clear();
    fingerprints.set(key, fp);
  }
  return fp;
}

interface AdapterFile {
  path: string;
  sizeBytes: number;
  info?: ReturnType<typeof readLoraInfo>;
  /** Why the file cannot be read as a LoRA adapter. */
  error?: string;
}

/** Reads adapter files' headers (never their tensors). */
export function readAdapterFiles(files: string[]): AdapterFile[] {
  return files.map((file) => {
    const sizeBytes = fs.statSync(file).size;
    try {
      return { path: file, sizeBytes, info: readLoraInfo(file) };
    } catch (err) {
      return { path: file, sizeBytes, error: (err as Error).message };
    }
  });
}

const short = (fp: string) => fp.replace(/^([^:]+:)?(.{12}).*$/, "$1$2…");

/**
 * The adapters listed for one model: those beside it, and those anywhere in
 * the models folder whose base fingerprint is this model's. Each either
 * pairs (no `refused`) or says why it cannot be used with it.
 */
export function adaptersForModel(model: { path: string; name: string; architecture: string }, files: AdapterFile[]): CatalogAdapter[] {
  if (!files.length) return [];
  const fp = modelWeightsFingerprint(model.path);
  const dir = path.dirname(model.path);
  const out: CatalogAdapter[] = [];
  for (const f of files) {
    const beside = path.dirname(f.path) === dir;
    const pairs = f.info?.baseFingerprint === fp;
    if (!beside && !pairs) continue;
    const file = path.basename(f.path);
    let refused: string | undefined;
    if (f.error || !f.info) refused = `${file} cannot be read as a LoRA adapter: ${f.error}`;
    else if (f.info.architecture !== model.architecture) {
      refused = `${file} adapts a "${f.info.architecture}" model, but ${model.name} is "${model.architecture}".`;
    } else if (!f.info.baseFingerprint) {
      refused = `${file} does not say which weights it was trained on (no lvc.base.fingerprint), so it cannot be paired safely. Export it with writeLoraGguf (lib/gguf/lora.ts) against ${path.basename(model.path)}.`;
    } else if (!pairs) {
      refused = `${file} was trained on other weights${f.info.baseName ? ` ("${f.info.baseName}"` : " ("}${`, ${short(f.info.baseFingerprint)})`}, not on ${model.name} (${short(fp)}): it would not fit. Train or export it again against this model.`;
    }
    const name = adapterName(f.path);
    if (!refused && out.some((a) => a.name === name && !a.refused)) refused = `Another adapter named "${name}" is already listed for ${model.name}.`;
    out.push({
      name,
      path: f.path,
      sizeBytes: f.sizeBytes,
      kinds: f.info?.kinds ?? [],
      ...(f.info?.description ? { description: f.info.description } : {}),
      rank: f.info?.rank ?? 0,
      alpha: f.info?.alpha ?? 0,
      ...(refused ? { refused } : {}),
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Scales a request may give (llama.cpp takes any float; beyond this is a typo, not a choice). */
export const MAX_ADAPTER_SCALE = 4;

/**
 * The adapters one answer uses: requested names against the model's list.
 * Unknown names and refused adapters throw (`unknown_adapter`,
 * `adapter_refused`) naming what is available; a scale of 0 leaves the
 * adapter out. Sorted by name, so equal choices give equal cache keys.
 */
export function resolveAdapters(available: CatalogAdapter[], requested: AdapterRequest[] | undefined, modelName: string): AdapterUse[] {
  if (!requested?.length) return [];
  const usable = available.filter((a) => !a.refused);
  const names = usable.map((a) => a.name);
  const list = names.length ? `Available: ${names.join(", ")}.` : `${modelName} has no adapters on this engine.`;
  const out: AdapterUse[] = [];
  for (const r of requested) {
    const scale = r.scale ?? 1;
    if (!Number.isFinite(scale) || Math.abs(scale) > MAX_ADAPTER_SCALE) {
      throw new EngineError("unknown_adapter", `The scale of adapter "${r.name}" must be between -${MAX_ADAPTER_SCALE} and ${MAX_ADAPTER_SCALE}.`);
    }
    if (out.some((a) => a.name === r.name) || requested.filter((q) => q.name === r.name).length > 1) {
      throw new EngineError("unknown_adapter", `Adapter "${r.name}" is named twice.`);
    }
    const found = usable.find((a) => a.name === r.name);
    if (!found) {
      const refused = available.find((a) => a.name === r.name && a.refused);
      if (refused) throw new EngineError("adapter_refused", `Adapter "${r.name}" cannot be used: ${refused.refused} ${list}`);
      throw new EngineError("unknown_adapter", `No adapter "${r.name}" for ${modelName}. ${list}`);
    }
    if (scale !== 0) out.push({ name: found.name, path: found.path, scale });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** A stable text for a set of adapters ("" for none): part of every cache key of state computed with them. */
export const adapterSignature = (adapters: readonly AdapterUse[]) => adapters.map((a) => `${a.name}@${a.scale}`).join(",");
