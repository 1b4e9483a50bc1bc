/**
 * Vision-model families: how a family is recognised from its GGUF pair and
 * what one image costs in context tokens for its actual size, computed the
 * way libmtmd (llama.cpp's multimodal library, the same in both backends)
 * preprocesses it. One rule per family, in a file of its own.
 */

/** The families the catalog recognises (and the tests replicate). */
export type FamilyId = "llava-1.5" | "llava-1.6" | "qwen2.5-vl" | "gemma3" | "smolvlm" | "minicpm-v" | "pixtral";

/** An mmproj's metadata, flattened to the GGUF's own dotted keys ("clip.vision.image_size"). */
export type ClipMeta = Readonly<Record<string, unknown>>;

export interface FamilyRule {
  id: FamilyId;
  /** Shown on the model badge, e.g. "Qwen2.5-VL". */
  label: string;
  /** `clip.projector_type` values of this family's projectors. */
  projectorTypes: readonly string[];
  /** `general.architecture` values of the family's language models (informational unless `strictArchitecture`). */
  architectures: readonly string[];
  /**
   * The projector only works with these architectures (Qwen2-VL's M-RoPE
   * positions, Gemma 3's own model): any other language model is refused.
   * Otherwise other architectures pair too (Granite Vision and llava-phi-3
   * use LLaVA-1.6's projector), counted by the same rule.
   */
  strictArchitecture?: boolean;
  /** A finer test when several families share a projector type (LLaVA-1.5 and 1.6 are both "mlp"). */
  matches?(clip: ClipMeta): boolean;
  /**
   * Tokens the image marker becomes for an image of width × height pixels:
   * the image's embeddings plus every text token libmtmd adds around them
   * (begin/end markers, row breaks, slice markers). Equal to
   * tokens("a<marker>b" with the image) − tokens("a") − tokens("b").
   */
  imageTokens(clip: ClipMeta, width: number, height: number): number;
  /**
   * For M-RoPE models (Qwen2-VL, Qwen2.5-VL): the positions the image
   * advances, which is what the in-process binding's tokenize() lists for
   * it (an image fills `imageTokens` cells but takes fewer positions).
   * Absent: positions equal tokens.
   */
  imagePositions?(clip: ClipMeta, width: number, height: number): number;
}

export function clipNumber(clip: ClipMeta, key: string): number | undefined {
  const v = clip[key];
  return typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : undefined;
}

export function requireClipNumber(clip: ClipMeta, key: string): number {
  const v = clipNumber(clip, key);
  if (v === undefined) throw new Error(`the mmproj has no ${key}`);
  return v;
}

export function clipNumbers(clip: ClipMeta, key: string): number[] | undefined {
  const v = clip[key];
  return Array.isArray(v) ? v.map((x) => Number(x)) : undefined;
}
