import type { FamilyRule } from "./types";

/** Not written yet. */
export const rule: FamilyRule = {
  id: "gemma3",
  label: "Gemma 3",
  projectorTypes: [],
  architectures: [],
  imageTokens() {
    throw new Error("Gemma 3 image token rule not written yet");
  },
};
