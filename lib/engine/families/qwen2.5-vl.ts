import { clipNumber, requireClipNumber, type ClipMeta, type FamilyRule } from "./types";

/** clip.cpp's fixed limits for Qwen2-VL / Qwen2.5-VL, in merged tokens (`set_limit_image_tokens(8, 4096)`). */
export const QWEN_VL_MIN_TOKENS = 8;
export const QWEN_VL_MAX_TOKENS = 4096;

const f32 = Math.fround;

/**
 * The size libmtmd resizes an image to (`img_tool::calc_size_preserved_ratio`,
 * transformers' "smart_resize"): each side rounded to a multiple of
 * `align` (patch × merge), then scaled down to fit `maxPixels` or up to
 * reach `minPixels`, keeping the aspect ratio. Computed in single
 * precision as clip.cpp does, so boundary cases round the same way.
 */
export function smartResize(width: number, height: number, align: number, minPixels: number, maxPixels: number): { width: number; height: number } {
  if (width <= 0 || height <= 0) return { width: 0, height: 0 };
  const fa = f32(align);
  const roundBy = (x: number) => Math.round(f32(f32(x) / fa)) * align;
  const ceilBy = (x: number) => Math.ceil(f32(f32(x) / fa)) * align;
  const floorBy = (x: number) => Math.floor(f32(f32(x) / fa)) * align;
  let w = Math.max(align, roundBy(width));
  let h = Math.max(align, roundBy(height));
  if (maxPixels > 0 && h * w > maxPixels) {
    const beta = f32(Math.sqrt(f32(f32(f32(height) * width) / f32(maxPixels))));
    h = Math.max(align, floorBy(f32(height / beta)));
    w = Math.max(align, floorBy(f32(width / beta)));
  } else if (minPixels > 0 && h * w < minPixels) {
    const beta = f32(Math.sqrt(f32(f32(minPixels) / f32(f32(height) * width))));
    h = ceilBy(f32(height * beta));
    w = ceilBy(f32(width * beta));
  }
  return { width: w, height: h };
}

/** The merged-token grid (columns × rows) of one image. */
export function qwenVlGrid(clip: ClipMeta, width: number, height: number): { cols: number; rows: number } {
  const patch = requireClipNumber(clip, "clip.vision.patch_size");
  const merge = clipNumber(clip, "clip.vision.spatial_merge_size") ?? 2;
  const align = patch * merge;
  const area = align * align;
  const size = smartResize(width, height, align, QWEN_VL_MIN_TOKENS * area, QWEN_VL_MAX_TOKENS * area);
  return { cols: size.width / align, rows: size.height / align };
}

/**
 * Qwen2.5-VL (and Qwen2-VL, same preprocessing): dynamic resolution. The
 * image is resized to multiples of 28 px (patch 14 × 2×2 merge) with its
 * aspect ratio kept, between 8 and 4096 merged tokens (clip.cpp's fixed
 * limits; the GGUF carries no min/max pixels for these projectors), and
 * every 2×2 block of patches becomes one token, wrapped in
 * `<|vision_start|>` … `<|vision_end|>`.
 *
 * These are context (KV) cells. With M-RoPE the image advances the
 * position counter by only max(cols, rows), but it still fills
 * cols × rows cells, which is what the context budget must count (and
 * what llama-server reports as `tokens_evaluated`).
 */
export const rule: FamilyRule = {
  id: "qwen2.5-vl",
  label: "Qwen2.5-VL",
  // "qwen2.5o": Qwen2.5-Omni's projector, whose vision side libmtmd runs as qwen2.5vl_merger.
  projectorTypes: ["qwen2.5vl_merger", "qwen2vl_merger", "qwen2.5o"],
  architectures: ["qwen2vl"],
  strictArchitecture: true,
  imageTokens(clip, width, height) {
    const { cols, rows } = qwenVlGrid(clip, width, height);
    return cols * rows + 2;
  },  // M-RoPE: the image advances the position by its longer side in merged patches (plus the two markers).
  imagePositions(clip, width, height) {
    const { cols, rows } = qwenVlGrid(clip, width, height);
    return Math.max(cols, rows) + 2;
  },

};
