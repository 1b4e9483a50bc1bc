// Turns the trained chart adapter (models/train/out-skills/lora/{lora.json,lora.bin},
// written by skills.py) into the shipped llama.cpp LoRA GGUF beside the base
// model, with the project's LoRA writer (lib/gguf/lora.ts: llama.cpp's
// adapter layout, the base model's fingerprint, kinds ["chart"]).
//
//   tsx models/train/export-lora.ts [LORA_DIR] [TARGET_FILE]
import fs from "node:fs";
import path from "node:path";
import { writeLoraGguf, type LoraTensor } from "../../lib/gguf/lora";

const here = import.meta.dirname;
const loraDir = process.argv[2] ?? path.join(here, "out-skills", "lora");
const target = process.argv[3] ?? path.join(here, "..", "tiny", "mini-llava-shapes-chart.lora.gguf");
const base = path.join(path.dirname(target), "mini-llava-shapes.gguf");

interface Part {
  shape: [number, number];
  offset: number;
}
interface Manifest {
  rank: number;
  alpha: number;
  tensors: Record<string, { a: Part; b: Part }>;
}

const manifest = JSON.parse(fs.readFileSync(path.join(loraDir, "lora.json"), "utf8")) as Manifest;
const blob = fs.readFileSync(path.join(loraDir, "lora.bin"));
const read = (p: Part) => new Float32Array(blob.buffer.slice(blob.byteOffset + p.offset, blob.byteOffset + p.offset + p.shape[0] * p.shape[1] * 4));
const tensors: LoraTensor[] = Object.entries(manifest.tensors).map(([name, { a, b }]) => {
  if (a.shape[0] !== manifest.rank || b.shape[1] !== manifest.rank) throw new Error(`${name}: A ${a.shape} / B ${b.shape} do not have rank ${manifest.rank}`);
  return { target: name, rank: manifest.rank, a: read(a), b: read(b) };
});
const written = writeLoraGguf(target, {
  base,
  alpha: manifest.alpha,
  tensors,
  kinds: ["chart"],
  description: `Charts (bar and line charts of a table, as the app draws them): rank ${manifest.rank} on every attention and MLP matrix of the language model`,
});
console.log(`${written.file}: ${(written.bytes / 1024).toFixed(0)} KiB, ${written.parameters} parameters, base ${written.baseFingerprint}`);
