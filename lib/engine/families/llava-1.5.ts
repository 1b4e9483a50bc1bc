import { requireClipNumber, type FamilyRule } from "./types";

/**
 * LLaVA-1.5 layout (and the project's demo model): one fixed square input,
 * every patch becomes a token, the class token is dropped by the `mlp`
 * projector. The image's own size does not matter.
 */
export const rule: FamilyRule = {
  id: "llava-1.5",
  label: "LLaVA-1.5",
  // Not ldp/ldpv2 (MobileVLM pools 4×: a different count).
  projectorTypes: ["mlp", "mlp_norm"],
  architectures: ["llama", "mistral"],
  matches: (clip) => !Array.isArray(clip["clip.vision.image_grid_pinpoints"]),
  imageTokens(clip) {
    const side = requireClipNumber(clip, "clip.vision.image_size") / requireClipNumber(clip, "clip.vision.patch_size");
    return side * side;
  },
};
