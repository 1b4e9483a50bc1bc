// Writes the deterministic random-weight test pairs into .cache/models
// (not committed): `tiny` for tests, `realistic` (~0.5 B) for benchmarks.
//   tsx scripts/make-test-models.ts [tiny|realistic] [seed]
import path from "node:path";
import { ensureRandomPair, type RandomPairPreset } from "../lib/gguf/random-pair";

const preset = (process.argv[2] ?? "tiny") as RandomPairPreset;
const seed = Number(process.argv[3] ?? 1);
const files = ensureRandomPair({ dir: path.resolve(import.meta.dirname, "..", ".cache", "models"), preset, seed });
console.log(`${files.llm}\n${files.mmproj}`);
