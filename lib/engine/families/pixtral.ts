import { clipNumber, requireClipNumber, type FamilyRule } from "./types";

const f32 = Math.fround;

/** libmtmd's token limits for the pixtral projector (clip.cpp: `set_limit_image_tokens(8, 1024)`). */
export const PIXTRAL_MIN_TOKENS = 8;
export const PIXTRAL_MAX_TOKENS = 1024;

/**
 * The size libmtmd resizes an image to (mtmd-image.cpp
 * `calc_size_preserved_ratio` without a longest edge): each side rounded to
 * a multiple of `align`, then scaled down (floor) to fit max_pixels or up
 * (ceil) to reach min_pixels, keeping the aspect ratio. Float math as in C++.
 */
export function pixtralResize(width: number, height: number, align: number, minPixels: number, maxPixels: number): { width: number; height: number } {
  const fa = f32(align);
  const round = (x: number) => Math.round(f32(f32(x) / fa)) * align;
  const ceil = (x: number) => Math.ceil(f32(f32(x) / fa)) * align;
  const floor = (x: number) => Math.floor(f32(f32(x) / fa)) * align;
  let w = Math.max(align, round(width));
  let h = Math.max(align, round(height));
  if (maxPixels > 0 && w * h > maxPixels) {
    const beta = f32(Math.sqrt(f32(f32(f32(height) * width) / maxPixels)));
    h = Math.max(align, floor(f32(height / beta)));
    w = Math.max(align, floor(f32(width / beta)));
  } else if (minPixels > 0 && w * h < minPixels) {
    const beta = f32(Math.sqrt(f32(f32(minPixels) / f32(f32(height) * width))));
    h = ceil(f32(height * beta));
    w = ceil(f32(width * beta));
  }
  return { width: w, height: h };
}

/**
 * Pixtral / Mistral Small 3.1 (projector "pixtral"): variable resolution.
 * libmtmd resizes the image to a multiple of patch × merge with between 8
 * and 1024 (merged) tokens — far below Pixtral's own 1024 px side, so big
 * images lose detail in this llama.cpp — then the projector emits one
 * embedding per (merged) patch plus an [IMG_BREAK] embedding after every
 * row but the last, and libmtmd appends the [IMG_END] text token.
 */
export const rule: FamilyRule = {
  id: "pixtral",
  label: "Pixtral",
  projectorTypes: ["pixtral"],
  architectures: ["llama", "mistral3"],
  imageTokens(clip, width, height) {
    const patch = requireClipNumber(clip, "clip.vision.patch_size");
    const merge = clipNumber(clip, "clip.vision.spatial_merge_size") || 1;
    const align = patch * merge;
    const area = align * align;
    const size = pixtralResize(width, height, align, PIXTRAL_MIN_TOKENS * area, PIXTRAL_MAX_TOKENS * area);
    const nx = Math.floor(size.width / align);
    const ny = Math.floor(size.height / align);
    return nx * ny + (ny - 1) + 1;
  },
};
