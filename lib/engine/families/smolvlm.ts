import { clipNumber, requireClipNumber, type ClipMeta, type FamilyRule } from "./types";

/**
 * SmolVLM / Idefics3 (`idefics3` projector), as libmtmd's idefics3
 * preprocessor and slice template do it:
 *
 * - The image is resized so its longest edge is `clip.vision.preproc_image_size`
 *   (the model's size.longest_edge: 1536 for SmolVLM2-2.2B, 2048 for the
 *   256M/500M models; small images are scaled up), the other edge rounded
 *   down then up to even, and cut into `image_size` tiles (ceil on both
 *   axes). Files without that key round each edge to the nearest multiple
 *   of `image_size` instead.
 * - Every tile and the one global view cost (image_size / patch_size)² /
 *   scale_factor² embeddings (81 for 384 px / 14 / 3, 64 for 512 / 16 / 4).
 * - Text tokens: "<fake_token_around_image><row_R_col_C>" (2) before each
 *   tile, "\n" (1) after each row but the last, then "\n\n"
 *   "<fake_token_around_image><global-img>" (3) before the global view and
 *   "<fake_token_around_image>" (1) after it. (A grid beyond the
 *   vocabulary's <row_6_col_6> would spell those markers in pieces; no
 *   longest edge up to 6 tiles gets there.)
 */
export function idefics3Grid(clip: ClipMeta, width: number, height: number): { cols: number; rows: number } {
  const tile = requireClipNumber(clip, "clip.vision.image_size");
  const longest = clipNumber(clip, "clip.vision.preproc_image_size") ?? 0;
  if (longest > 0) {
    const aspect = width / height;
    let w: number;
    let h: number;
    if (width >= height) {
      w = longest;
      h = Math.trunc(longest / aspect);
      h += h % 2;
    } else {
      h = longest;
      w = Math.trunc(longest * aspect);
      w += w % 2;
    }
    return { cols: Math.ceil(w / tile), rows: Math.ceil(h / tile) };
  }
  // clip.cpp's calc_size_preserved_ratio with align = image_size (in float, as there).
  const round = (x: number) => Math.max(tile, Math.round(Math.fround(Math.fround(x) / Math.fround(tile))) * tile);
  return { cols: round(width) / tile, rows: round(height) / tile };
}

export const rule: FamilyRule = {
  id: "smolvlm",
  label: "SmolVLM",
  projectorTypes: ["idefics3"],
  architectures: ["llama"],
  imageTokens(clip, width, height) {
    const tile = requireClipNumber(clip, "clip.vision.image_size");
    const side = Math.floor(tile / requireClipNumber(clip, "clip.vision.patch_size"));
    const scale = clipNumber(clip, "clip.vision.projector.scale_factor") ?? 1;
    const perTile = Math.floor((side * side) / (scale * scale));
    const { cols, rows } = idefics3Grid(clip, width, height);
    const tiles = cols * rows;
    return tiles * (2 + perTile) + Math.max(0, rows - 1) + 3 + perTile + 1;
  },
};
