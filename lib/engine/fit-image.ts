import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";

/**
 * Image sizes and fitting an image into a token budget. For families whose
 * image cost grows with the image (Qwen2.5-VL's dynamic resolution, tiling
 * in LLaVA-1.6, SmolVLM, MiniCPM-V, Pixtral), a 2048 px photo can cost
 * thousands of tokens; when it costs more than the per-image budget, the
 * engine sends a downscaled copy instead (cached on disk, same input →
 * same file, so state reuse by image hash keeps working).
 */

const sizes = new Map<string, { width: number; height: number; key: string }>();

/** The image's pixel size (header only), cached per path and modification time. */
export async function imageSize(file: string): Promise<{ width: number; height: number }> {
  const st = fs.statSync(file);
  const key = `${st.size}:${st.mtimeMs}`;
  const hit = sizes.get(file);
  if (hit && hit.key === key) return hit;
  const meta = await sharp(file, { limitInputPixels: false }).metadata();
  if (!meta.width || !meta.height) throw new Error(`${path.basename(file)} has no readable size`);
  // EXIF orientations 5–8 swap the sides as decoders show them (stored images are normalised, so this is a guard).
  const swap = (meta.orientation ?? 1) >= 5;
  const out = { width: swap ? meta.height : meta.width, height: swap ? meta.width : meta.height, key };
  if (sizes.size > 4096) sizes.clear();
  sizes.set(file, out);
  return out;
}

/**
 * The largest size with the image's aspect ratio whose cost is within
 * `maxTokens`, or null when the image already fits. Costs are not always
 * monotone in size (tiling rounds), so the search keeps the largest size
 * that fits among the scales it tries. When even the smallest size costs
 * more (a family's floor), the largest size at that floor.
 */
export function fitSize(
  width: number,
  height: number,
  maxTokens: number,
  cost: (w: number, h: number) => number,
): { width: number; height: number; tokens: number } | null {
  if (cost(width, height) <= maxTokens) return null;
  const at = (s: number) => ({ width: Math.max(1, Math.round(width * s)), height: Math.max(1, Math.round(height * s)) });
  const largestWithin = (budget: number) => {
    let lo = 0;
    let hi = 1;
    let best: { width: number; height: number; tokens: number } | null = null;
    for (let i = 0; i < 24; i++) {
      const mid = (lo + hi) / 2;
      const size = at(mid);
      const tokens = cost(size.width, size.height);
      if (tokens <= budget) {
        lo = mid;
        if (!best || size.width * size.height > best.width * best.height) best = { ...size, tokens };
      } else {
        hi = mid;
      }
    }
    return best;
  };
  // A family with a floor above the budget (LLaVA-1.6: one 576-token tile at least) cannot fit:
  // send the largest size that costs only that floor.
  const floor = cost(at(1 / 256).width, at(1 / 256).height);
  return largestWithin(maxTokens) ?? largestWithin(floor) ?? { ...at(1 / 256), tokens: floor };
}

/** A downscaled copy of `file` at exactly width × height, made once under `dir`. */
export async function resizedCopy(file: string, dir: string, width: number, height: number): Promise<string> {
  const st = fs.statSync(file);
  const id = createHash("sha256").update(`${path.resolve(file)}:${st.size}:${st.mtimeMs}`).digest("hex").slice(0, 24);
  const jpeg = /\.jpe?g$/i.test(file);
  const out = path.join(dir, `${id}-${width}x${height}.${jpeg ? "jpg" : "png"}`);
  if (fs.existsSync(out)) return out;
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${out}.partial-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const img = sharp(file, { limitInputPixels: false }).rotate().resize({ width, height, fit: "fill", kernel: "lanczos3" });
  await (jpeg ? img.jpeg({ quality: 92 }) : img.png()).toFile(tmp);
  fs.renameSync(tmp, out);
  return out;
}
