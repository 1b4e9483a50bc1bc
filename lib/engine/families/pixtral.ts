import type { FamilyRule } from "./types";

/** Not written yet. */
export const rule: FamilyRule = {
  id: "pixtral",
  label: "Pixtral",
  projectorTypes: [],
  architectures: [],
  imageTokens() {
    throw new Error("Pixtral image token rule not written yet");
  },
};
