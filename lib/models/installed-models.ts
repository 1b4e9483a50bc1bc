import fs from "node:fs";
import path from "node:path";
import { scanCatalog, type CatalogModel, type CatalogProblem } from "@/lib/engine/catalog";
import { machineMemory, modelFit, type MachineMemory, type ModelFit } from "./memory-fit";
import { PULL_RECORD, type PullRecord } from "./pull-model";

/** One model of the catalog as the Models page shows it (no absolute paths). */
export interface InstalledModel {
  id: string;
  name: string;
  architecture: string;
  parameters: number;
  fileType: string;
  /** Model + projector, bytes. */
  sizeBytes: number;
  family: string | null;
  /** What it takes in: text always; image and video (as frames) with a vision projector; audio with an audio encoder. */
  takes: ("text" | "image" | "audio" | "video")[];
  /** Where it was pulled from (`owner/repo:tag`), or null for files copied in. */
  source: string | null;
  /** The files, relative to the models folder. */
  files: string[];
  /** False for MODEL_PATH / MMPROJ_PATH outside the models folder: the Models page does not delete those. */
  removable: boolean;
  fit: ModelFit;
}

const inside = (dir: string, file: string) => {
  const rel = path.relative(dir, file);
  return !!rel && !rel.startsWith("..") && !path.isAbsolute(rel);
};

function pullSource(dir: string): string | null {
  try {
    const record = JSON.parse(fs.readFileSync(path.join(dir, PULL_RECORD), "utf8")) as PullRecord;
    return `${record.repo}:${record.tag}`;
  } catch {
    return null;
  }
}

/** The catalog, re-read now (files added since the last look included), with each model's size, inputs and fit. */
export async function listInstalledModels({
  modelsDir,
  modelPath,
  mmprojPath,
  contextSize,
}: {
  modelsDir: string;
  modelPath?: string;
  mmprojPath?: string;
  /** Context tokens the fit is judged at (CONTEXT_SIZE). */
  contextSize: number;
}): Promise<{ models: InstalledModel[]; problems: (Omit<CatalogProblem, "path"> & { file: string })[]; memory: MachineMemory }> {
  const catalog = await scanCatalog({ dir: modelsDir, modelPath, mmprojPath });
  const memory = machineMemory();
  const shown = (f: string) => (inside(modelsDir, f) ? path.relative(modelsDir, f) : path.basename(f));
  const models = catalog.models.map((m): InstalledModel => {
    const projector = m.vision?.mmprojPath ?? m.audio?.mmprojPath;
    const mmprojBytes = projector ? fs.statSync(projector).size : 0;
    const files = modelFiles(m);
    return {
      id: m.id,
      name: m.name,
      architecture: m.architecture,
      parameters: m.parameters,
      fileType: m.fileType,
      sizeBytes: m.sizeBytes + mmprojBytes,
      family: m.vision?.family?.label ?? null,
      // A model that sees takes video as its frames; audio is heard by a model with an audio encoder.
      takes: ["text", ...(m.vision ? (["image", "video"] as const) : []), ...(m.audio ? (["audio"] as const) : [])],
      source: pullSource(path.dirname(m.path)),
      files: files.map(shown),
      removable: files.every((f) => inside(modelsDir, f)) && m.path !== modelPath,
      fit: modelFit({ weightBytes: m.sizeBytes + mmprojBytes, kvBytesPerToken: m.kvBytesPerToken ?? null, contextSize, memory }),
    };
  });
  return { models, problems: catalog.problems.map(({ path: p, ...rest }) => ({ ...rest, file: shown(p) })), memory };
}

/** A model's files: the language model (every part when split) and its projector. */
function modelFiles(m: CatalogModel): string[] {
  const projector = m.vision?.mmprojPath ?? m.audio?.mmprojPath;
  return [...(m.parts ?? [m.path]), ...(projector ? [projector] : [])];
}

/**
 * Deletes a model's files (the language model, its projector, and the
 * folder a pull made for them once empty). Only files inside the models
 * folder; returns false when no such model is there.
 */
export async function deleteInstalledModel({ id, modelsDir }: { id: string; modelsDir: string }): Promise<boolean> {
  const catalog = await scanCatalog({ dir: modelsDir });
  const model = catalog.models.find((m) => m.id === id);
  if (!model) return false;
  const files = modelFiles(model);
  if (!files.every((f) => inside(modelsDir, f))) return false;
  for (const f of files) fs.rmSync(f, { force: true });
  const dir = path.dirname(model.path);
  if (inside(modelsDir, dir) && fs.existsSync(path.join(dir, PULL_RECORD)) && fs.readdirSync(dir).every((f) => f === PULL_RECORD)) {
    fs.rmSync(dir, { recursive: true, force: true });
    // Owner and repository folders the pull made, once empty.
    for (let up = path.dirname(dir); inside(modelsDir, up) && fs.readdirSync(up).length === 0; up = path.dirname(up)) fs.rmdirSync(up);
  }
  return true;
}
