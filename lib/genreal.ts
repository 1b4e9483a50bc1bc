import { ensureRandomPair } from "/work/main/lib/gguf/random-pair";
const t = Date.now();
const p = ensureRandomPair({ dir: "/work/main/.cache/models", preset: "realistic" });
console.log(p.llm, p.mmproj, p.imageTokens, (Date.now() - t) / 1000, "s");
