import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { scanCatalog, type CatalogModel } from "@/lib/engine/catalog";
import type { FamilyId } from "@/lib/engine/families";
import { REPLICAS } from "@/lib/gguf/replicas";
import { MODEL_CACHE } from "./engine";

/** The sizes the issue names: a thumbnail, a 4:3 photo and a big 4:3 photo. */
export const FAMILY_IMAGE_SIZES: ReadonlyArray<readonly [number, number]> = [
  [64, 64],
  [1024, 768],
  [2048, 1536],
];

/** Every family that has a replica writer. */
export const REPLICATED_FAMILIES = Object.keys(REPLICAS) as FamilyId[];

/** Writes (once) the family's replica in a folder of its own and pairs it through the catalog. */
export async function replicaModel(id: FamilyId): Promise<CatalogModel> {
  const dir = path.join(MODEL_CACHE, "families", id);
  fs.mkdirSync(dir, { recursive: true });
  const files = REPLICAS[id]!(dir);
  const { models, problems } = await scanCatalog({ dir });
  if (problems.length) throw new Error(`${id}: ${problems.map((p) => p.message).join("; ")}`);
  const model = models.find((m) => m.path === files.llm);
  if (!model) throw new Error(`${id}: the catalog did not list ${files.llm}`);
  return model;
}

/**
 * A picture of this size (a few coloured shapes on a gradient, so encoders
 * see structure), written once as PNG under .cache/models/family-images.
 */
export async function familyImage(width: number, height: number, variant = 0): Promise<string> {
  const dir = path.join(MODEL_CACHE, "family-images");
  const file = path.join(dir, `${width}x${height}-${variant}.png`);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(dir, { recursive: true });
  const r = Math.max(1, Math.round(Math.min(width, height) / 4));
  const colours = ["#d33", "#3a3", "#33d", "#dd3"];
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#eee"/><stop offset="1" stop-color="#889"/></linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#g)"/>
    <circle cx="${width / 3}" cy="${height / 2}" r="${r}" fill="${colours[variant % 4]}"/>
    <rect x="${(width * 2) / 3 - r / 2}" y="${height / 3}" width="${r}" height="${r}" fill="${colours[(variant + 1) % 4]}"/>
  </svg>`;
  const tmp = `${file}.partial-${process.pid}`;
  await sharp(Buffer.from(svg)).png().toFile(tmp);
  fs.renameSync(tmp, file);
  return file;
}
