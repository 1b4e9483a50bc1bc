import { clipNumber, requireClipNumber, type ClipMeta, type FamilyRule } from "./types";

const f32 = Math.fround;

/** libmtmd's slice limit for MiniCPM-V (`max_slice_nums` in the llava-uhd preprocessor). */
export const MINICPMV_MAX_SLICES = 9;

/** Resampler output per image or slice: `clip.minicpmv_query_num`, else clip.cpp's per-version default. */
export function minicpmvQueries(clip: ClipMeta): number {
  const q = clipNumber(clip, "clip.minicpmv_query_num") ?? 0;
  if (q > 0) return q;
  const version = clipNumber(clip, "clip.minicpmv_version") ?? 2;
  return [3, 4, 5, 6, 100045].includes(version) ? 64 : 96;
}

/**
 * The slice grid (columns × rows) libmtmd cuts an image into
 * (`mtmd_image_preprocessor_llava_uhd::get_slice_instructions` without
 * pinpoints, and `get_best_grid`): none when both sides fit the slice size;
 * otherwise about area / slice² slices (at most 9, never 1), arranged in the
 * grid whose aspect ratio is closest (in log space) to the image's.
 * Single precision where clip.cpp uses floats, so ties break the same way.
 */
export function minicpmvGrid(clip: ClipMeta, width: number, height: number): { cols: number; rows: number } {
  const slice = requireClipNumber(clip, "clip.vision.image_size");
  if (width <= slice && height <= slice) return { cols: 0, rows: 0 };
  const logRatio = f32(Math.log(f32(width / height)));
  const ratio = f32(f32(f32(width) * height) / (slice * slice));
  const multiple = Math.min(Math.ceil(ratio), MINICPMV_MAX_SLICES);
  let best = { cols: 1, rows: 1 };
  let minError = Infinity;
  for (const n of [multiple - 1, multiple, multiple + 1]) {
    if (n === 1 || n > MINICPMV_MAX_SLICES) continue;
    for (let m = 1; m <= n; m++) {
      if (n % m !== 0) continue;
      const error = f32(Math.abs(logRatio - Math.log(m / (n / m))));
      if (error < minError) {
        best = { cols: m, rows: n / m };
        minError = error;
      }
    }
  }
  return best;
}

/**
 * MiniCPM-V 2.6 (minicpmv_version 3, "resampler" projector): every image is
 * an overview (resized to about 448 × 448) plus, when a side exceeds 448 px,
 * up to 9 slices; the resampler turns each into 64 query tokens whatever
 * its size. libmtmd writes
 * `<image>` overview `</image>` then, row by row, `<slice>` slice `</slice>`
 * per column with a "\n" token between rows (none after the last).
 */
export const rule: FamilyRule = {
  id: "minicpm-v",
  label: "MiniCPM-V 2.6",
  projectorTypes: ["resampler"],
  architectures: ["qwen2"],
  // Version 2 (MiniCPM-Llama3-V 2.5) uses another marker layout.
  // Measured on version 3 (2.6); 4 shares its layout. Others (2.5, 4.5…) differ: no family, fixed cost.
  matches: (clip) => [3, 4].includes(clipNumber(clip, "clip.minicpmv_version") ?? 2),
  imageTokens(clip, width, height) {
    const perImage = minicpmvQueries(clip) + 2;
    const { cols, rows } = minicpmvGrid(clip, width, height);
    return perImage * (1 + cols * rows) + Math.max(0, rows - 1);
  },
};
