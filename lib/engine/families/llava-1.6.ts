import { clipNumbers, requireClipNumber, type ClipMeta, type FamilyRule } from "./types";

const f32 = Math.fround;

/**
 * The pinpoint libmtmd picks for an image (mtmd-image.cpp
 * `select_best_resolution`): the candidate that keeps the most of the
 * image's pixels when the image is scaled to fit it, then the one that
 * wastes the least area. Float math as in C++ (float scale, int truncation).
 */
export function bestPinpoint(width: number, height: number, pinpoints: readonly number[]): { width: number; height: number } {
  let best = { width: 0, height: 0 };
  let maxEffective = 0;
  let minWasted = Number.MAX_SAFE_INTEGER;
  for (let i = 0; i + 1 < pinpoints.length; i += 2) {
    const cw = pinpoints[i]!;
    const ch = pinpoints[i + 1]!;
    const scale = Math.min(f32(f32(cw) / f32(width)), f32(f32(ch) / f32(height)));
    const tw = Math.trunc(f32(width * scale));
    const th = Math.trunc(f32(height * scale));
    const effective = Math.min(tw * th, width * height);
    const wasted = cw * ch - effective;
    if (effective > maxEffective || (effective === maxEffective && wasted < minWasted)) {
      maxEffective = effective;
      minWasted = wasted;
      best = { width: cw, height: ch };
    }
  }
  return best;
}

/**
 * LLaVA-1.6 (anyres): an `mlp` projector whose mmproj lists
 * `clip.vision.image_grid_pinpoints`. libmtmd (llava_uhd preprocessor)
 * always encodes the overview (the image squashed to image_size²); an image
 * larger than image_size on either side is also resized to the best
 * pinpoint and cut into image_size tiles, each encoded like the overview.
 * Every encoding is (image_size / patch_size)² tokens (class token
 * dropped). libmtmd adds no text tokens around them, and this llama.cpp
 * does not apply `spatial_unpad` / `image_newline` (no newline rows, no
 * unpadding), so the count depends only on the tile grid.
 */
export const rule: FamilyRule = {
  id: "llava-1.6",
  label: "LLaVA-1.6",
  projectorTypes: ["mlp", "mlp_norm"],
  architectures: ["llama", "mistral"],
  // Any pinpoint list (LLaVA-1.5's rule takes the files without one); an
  // empty list is counted right too: clip.cpp then falls back to one fixed tile.
  matches: (clip: ClipMeta) => Array.isArray(clip["clip.vision.image_grid_pinpoints"]),
  imageTokens(clip, width, height) {
    const size = requireClipNumber(clip, "clip.vision.image_size");
    const side = Math.floor(size / requireClipNumber(clip, "clip.vision.patch_size"));
    const perTile = side * side;
    const pinpoints = clipNumbers(clip, "clip.vision.image_grid_pinpoints") ?? [];
    if (pinpoints.length < 2 || (width <= size && height <= size)) return perTile;
    const refined = bestPinpoint(width, height, pinpoints);
    const tiles = Math.ceil(refined.width / size) * Math.ceil(refined.height / size);
    return perTile * (1 + tiles);
  },
};
