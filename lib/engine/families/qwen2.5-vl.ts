import type { FamilyRule } from "./types";

/** Not written yet. */
export const rule: FamilyRule = {
  id: "qwen2.5-vl",
  label: "Qwen2.5-VL",
  projectorTypes: [],
  architectures: [],
  imageTokens() {
    throw new Error("Qwen2.5-VL image token rule not written yet");
  },
};
