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
 * more (a family's floor), the largest size at that floor. Null as well
 * when no smaller size costs less.
 */
export function fitSize(
  width: number,
  height: number,
  maxTokens: number,
  cost: (w: number, h: number) => number,
): { width: number; height: number; tokens: number } | null {
  const original = cost(width, height);
  if (original <= maxTokens) return null;
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
  const fit = largestWithin(maxTokens) ?? largestWithin(floor) ?? { ...at(1 / 256), tokens: floor };
  // Shrinking that saves nothing (SmolVLM scales small images up: a square costs the same at
  // any size) would only lose detail.
  return fit.tokens < original && (fit.width !== width || fit.height !== height) ? fit : null;
}

const hashes = new Map<string, { key: string; sha256: string }>();

/** The SHA-256 of the file's bytes (a stored blob's name), cached per path, size and modification time. */
async function contentHash(file: string): Promise<string> {
  const st = await fs.promises.stat(file);
  const key = `${st.size}:${st.mtimeMs}`;
  const hit = hashes.get(file);
  if (hit && hit.key === key) return hit.sha256;
  const sha256 = createHash("sha256").update(await fs.promises.readFile(file)).digest("hex");
  if (hashes.size > 4096) hashes.clear();
  hashes.set(file, { key, sha256 });
  return sha256;
}

/** Downscaled copies kept at most; the least recently made go first. */
const FITTED_BUDGET_BYTES = 512 * 1024 * 1024;

/**
 * A downscaled copy of `file` at exactly width × height, made once under
 * `dir` and named by the source's content hash (so `removeFittedCopies`
 * finds it when the source is deleted). Private to the server's user
 * (0600, like the blobs), written atomically, and the folder is kept under
 * 512 MB.
 */
export async function resizedCopy(file: string, dir: string, width: number, height: number): Promise<string> {
  const sha256 = await contentHash(file);
  const jpeg = /\.jpe?g$/i.test(file);
  const out = path.join(dir, `${sha256}-${width}x${height}.${jpeg ? "jpg" : "png"}`);
  if (fs.existsSync(out)) return out;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${out}.partial-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    const img = sharp(file, { limitInputPixels: false }).rotate().resize({ width, height, fit: "fill", kernel: "lanczos3" });
    await (jpeg ? img.jpeg({ quality: 92 }) : img.png()).toFile(tmp);
    await fs.promises.chmod(tmp, 0o600);
    await fs.promises.rename(tmp, out);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  await trimFitted(dir).catch(() => {});
  return out;
}

async function trimFitted(dir: string) {
  const files = await Promise.all(
    (await fs.promises.readdir(dir)).filter((f) => !f.includes(".partial-")).map(async (f) => ({ f, st: await fs.promises.stat(path.join(dir, f)) })),
  );
  let total = files.reduce((a, x) => a + x.st.size, 0);
  for (const { f, st } of files.sort((a, b) => a.st.mtimeMs - b.st.mtimeMs)) {
    if (total <= FITTED_BUDGET_BYTES) break;
    await fs.promises.rm(path.join(dir, f), { force: true });
    total -= st.size;
  }
}

/** Removes the downscaled copies of deleted images (by their content hashes). */
export async function removeFittedCopies(dir: string, sha256s: string[]): Promise<void> {
  if (!sha256s.length) return;
  const names = await fs.promises.readdir(dir).catch(() => [] as string[]);
  const gone = new Set(sha256s);
  await Promise.all(names.filter((n) => gone.has(n.split("-")[0]!)).map((n) => fs.promises.rm(path.join(dir, n), { force: true })));
}
