import type { FamilyRule } from "./types";

/** Not written yet. */
export const rule: FamilyRule = {
  id: "llava-1.6",
  label: "LLaVA-1.6",
  projectorTypes: [],
  architectures: [],
  imageTokens() {
    throw new Error("LLaVA-1.6 image token rule not written yet");
  },
};
