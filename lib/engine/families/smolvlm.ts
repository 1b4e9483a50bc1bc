import type { FamilyRule } from "./types";

/** Not written yet. */
export const rule: FamilyRule = {
  id: "smolvlm",
  label: "SmolVLM",
  projectorTypes: [],
  architectures: [],
  imageTokens() {
    throw new Error("SmolVLM image token rule not written yet");
  },
};
