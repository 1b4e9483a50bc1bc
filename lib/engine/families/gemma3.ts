import { clipNumber, requireClipNumber, type FamilyRule } from "./types";

/**
 * Gemma 3: libmtmd resizes every image to one square of
 * `clip.vision.image_size` (896 px; no pan-and-scan or tiling in llama.cpp),
 * the SigLIP tower makes (896 / 14)² = 4096 patches, and the projector
 * average-pools them `scale_factor` × `scale_factor` (clip.cpp's default 4
 * when the key is absent, as in the real mmproj files) to 256 embeddings.
 * libmtmd adds <start_of_image> before and <end_of_image> after: 258 tokens,
 * whatever the image's size.
 */
export const rule: FamilyRule = {
  id: "gemma3",
  label: "Gemma 3",
  projectorTypes: ["gemma3"],
  architectures: ["gemma3"],
  strictArchitecture: true,
  imageTokens(clip) {
    const side = Math.floor(requireClipNumber(clip, "clip.vision.image_size") / requireClipNumber(clip, "clip.vision.patch_size"));
    const merge = clipNumber(clip, "clip.vision.projector.scale_factor") ?? 4;
    return Math.floor((side * side) / (merge * merge)) + 2;
  },
};
