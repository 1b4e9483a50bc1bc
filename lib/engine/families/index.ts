import { rule as gemma3 } from "./gemma3";
import { rule as llava15 } from "./llava-1.5";
import { rule as llava16 } from "./llava-1.6";
import { rule as minicpmv } from "./minicpm-v";
import { rule as pixtral } from "./pixtral";
import { rule as qwen25vl } from "./qwen2.5-vl";
import { rule as smolvlm } from "./smolvlm";
import type { ClipMeta, FamilyId, FamilyRule } from "./types";

/** Every family rule; more specific ones (with `matches`) are tried first within a projector type. */
export const FAMILY_RULES: readonly FamilyRule[] = [llava16, llava15, qwen25vl, gemma3, smolvlm, minicpmv, pixtral];

/** The family of an mmproj, by its projector type (and finer metadata where types are shared). */
export function familyOfProjector(projectorType: string, clip: ClipMeta): FamilyRule | undefined {
  return FAMILY_RULES.find((r) => r.projectorTypes.includes(projectorType) && (!r.matches || r.matches(clip)));
}

export function familyById(id: FamilyId): FamilyRule {
  const rule = FAMILY_RULES.find((r) => r.id === id);
  if (!rule) throw new Error(`unknown family ${id}`);
  return rule;
}

export type { ClipMeta, FamilyId, FamilyRule };
