import type { FamilyRule } from "./types";

/** Not written yet. */
export const rule: FamilyRule = {
  id: "minicpm-v",
  label: "MiniCPM-V 2.6",
  projectorTypes: [],
  architectures: [],
  imageTokens() {
    throw new Error("MiniCPM-V 2.6 image token rule not written yet");
  },
};
