// Turns the trained weights (models/train/out/{manifest.json,weights.bin},
// written by train.py) into the shipped GGUF pair under models/tiny/, using
// the project's one GGUF writer. `npm run models:train` runs it after training.
import fs from "node:fs";
import path from "node:path";
import { writeClipGguf, writeLlamaGguf, type WeightSource } from "../../lib/gguf/llava-files";
import { buildSpmVocab } from "../../lib/gguf/spm-vocab";

const here = import.meta.dirname;
const outDir = process.env.TRAIN_OUT ?? path.join(here, "out");
const target = process.argv[2] ?? path.join(here, "..", "tiny");

interface Manifest {
  vision: { image_size: number; patch: number; d: number; n_layer: number; n_head: number; d_ff: number; proj_hidden: number; llm_d: number };
  llm: { vocab: number; d: number; n_layer: number; n_head: number; d_ff: number };
  tensors: Record<string, { shape: number[]; offset: number }>;
}

const manifest = JSON.parse(fs.readFileSync(path.join(outDir, "manifest.json"), "utf8")) as Manifest;
const blob = fs.readFileSync(path.join(outDir, "weights.bin"));

const weights: WeightSource = (name, shape) => {
  const t = manifest.tensors[name];
  if (!t) throw new Error(`the trained weights have no tensor ${name}`);
  if (t.shape.join("x") !== shape.join("x")) throw new Error(`${name}: trained shape ${t.shape} but the GGUF layout needs ${shape}`);
  const count = shape.reduce((a, b) => a * b, 1);
  return new Float32Array(blob.buffer.slice(blob.byteOffset + t.offset, blob.byteOffset + t.offset + count * 4));
};

const vocab = buildSpmVocab();
if (vocab.tokens.length !== manifest.llm.vocab) throw new Error(`vocabulary size ${vocab.tokens.length} ≠ trained ${manifest.llm.vocab}`);
const { vision: v, llm } = manifest;
fs.mkdirSync(target, { recursive: true });
const name = "mini-llava-shapes";
writeLlamaGguf(path.join(target, `${name}.gguf`), {
  name,
  vocab,
  nEmbd: llm.d,
  nLayer: llm.n_layer,
  nHead: llm.n_head,
  nHeadKv: llm.n_head,
  nFf: llm.d_ff,
  contextLength: 2048,
  ropeFreqBase: 10000,
  rmsEps: 1e-5,
  tensorType: "F32",
  tiedOutput: false,
}, weights);
writeClipGguf(path.join(target, `mmproj-${name}.gguf`), {
  name: `${name}-mmproj`,
  imageSize: v.image_size,
  patchSize: v.patch,
  nEmbd: v.d,
  nFf: v.d_ff,
  nLayer: v.n_layer,
  nHead: v.n_head,
  eps: 1e-5,
  projHidden: v.proj_hidden,
  projDim: v.llm_d,
  imageMean: [0.5, 0.5, 0.5],
  imageStd: [0.5, 0.5, 0.5],
  classEmbd: false,
  tensorType: "F32",
}, weights);
for (const f of fs.readdirSync(target).filter((f) => f.endsWith(".gguf"))) {
  console.log(`${path.join(target, f)}: ${(fs.statSync(path.join(target, f)).size / 1e6).toFixed(2)} MB`);
}
