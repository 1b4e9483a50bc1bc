import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { readGgufHeader } from "@/lib/gguf/gguf-header";
import { writeLoraGguf } from "@/lib/gguf/lora";

// Replica LoRA adapters for the shipped demo model, written at test time
// with the project's writer (never committed): a "swap" one that changes
// answers predictably, a zero one (B = 0) that must change nothing, random
// ones, and one trained on "other weights" (a copy of the base with one
// weight changed, the shapes identical) that llama.cpp itself would load
// without a word.

export const DEMO_DIR = path.resolve(import.meta.dirname, "..", "..", "models", "tiny");
export const DEMO_MODEL = path.join(DEMO_DIR, "mini-llava-shapes.gguf");
export const DEMO_MMPROJ = path.join(DEMO_DIR, "mmproj-mini-llava-shapes.gguf");

/** The demo model's matrices a replica adapts: attention and FFN of every block. */
const TARGETS = /^blk\.\d+\.(attn_q|attn_k|attn_v|attn_output|ffn_up|ffn_down|ffn_gate)\.weight$/;

/** Writes a random rank-`rank` LoRA for `base` (zero: B = 0, an adapter that changes nothing). */
export function writeReplicaLora(file: string, { base = DEMO_MODEL, seed = 1, rank = 4, zero = false, kinds = [] as string[] } = {}) {
  let s = seed >>> 0 || 1;
  const rnd = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  const tensors = readGgufHeader(base).tensors.filter((t) => TARGETS.test(t.name)).map((t) => {
    const [nIn, nOut] = t.shape as [number, number];
    return {
      target: t.name,
      rank,
      a: Float32Array.from({ length: rank * nIn }, () => rnd()),
      b: zero ? new Float32Array(nOut * rank) : Float32Array.from({ length: nOut * rank }, () => rnd()),
    };
  });
  return writeLoraGguf(file, { base, alpha: rank, tensors, kinds, description: zero ? "zero replica" : "random replica" });
}

/**
 * A rank-2 LoRA on the output head that swaps two letters' logits exactly
 * (ΔW = (e_b − e_a)·W_a + (e_a − e_b)·W_b, so logit'_a = logit_b and back):
 * the model writes `b` wherever it meant `a` and the other way round. Unlike
 * a random adapter it changes answers without writing stray bytes, which
 * llama-server refuses as not text.
 */
export async function writeSwapLora(file: string, { letters: [x, y] = ["r", "b"], base = DEMO_MODEL, kinds = [] as string[] } = {}) {
  const info = await readGgufFileInfo(base, { logWarnings: false });
  const tokens = (info.metadata as unknown as { tokenizer: { ggml: { tokens: string[] } } }).tokenizer.ggml.tokens;
  const [ix, iy] = [tokens.indexOf(x), tokens.indexOf(y)];
  if (ix < 0 || iy < 0) throw new Error(`no token ${x} or ${y}`);
  const h = readGgufHeader(base);
  const out = h.tensors.find((t) => t.name === "output.weight")!;
  if (out.type !== 0) throw new Error("the replica reads an F32 output head");
  const [nIn, nOut] = out.shape as [number, number];
  const fd = fs.openSync(base, "r");
  const row = (t: number) => {
    const buf = Buffer.alloc(nIn * 4);
    fs.readSync(fd, buf, 0, buf.length, h.dataOffset + out.offset + t * nIn * 4);
    return new Float32Array(buf.buffer, buf.byteOffset, nIn);
  };
  const a = new Float32Array(2 * nIn);
  a.set(row(ix), 0);
  a.set(row(iy), nIn);
  fs.closeSync(fd);
  const b = new Float32Array(nOut * 2); // [n_out, 2]
  b[iy * 2] = 1;
  b[ix * 2] = -1;
  b[ix * 2 + 1] = 1;
  b[iy * 2 + 1] = -1;
  return writeLoraGguf(file, { base, alpha: 2, tensors: [{ target: "output.weight", rank: 2, a, b }], kinds, description: `swaps ${x} and ${y}` });
}

/**
 * A models folder for tests: the demo pair copied in (adapters sit beside
 * their model), `swap.lora.gguf` (kinds ["chart"]), `zero.lora.gguf`, and
 * `other.lora.gguf` written against a retrained copy of the base.
 */
export async function demoModelsWithAdapters(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-lora-models-"));
  fs.copyFileSync(DEMO_MODEL, path.join(dir, path.basename(DEMO_MODEL)));
  fs.copyFileSync(DEMO_MMPROJ, path.join(dir, path.basename(DEMO_MMPROJ)));
  await writeSwapLora(path.join(dir, "swap.lora.gguf"), { kinds: ["chart"] });
  writeReplicaLora(path.join(dir, "zero.lora.gguf"), { zero: true });
  const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-lora-other-"));
  const retrained = path.join(elsewhere, "mini-llava-shapes-retrained.gguf");
  fs.copyFileSync(DEMO_MODEL, retrained);
  const h = readGgufHeader(retrained);
  const at = h.dataOffset + h.tensors.find((t) => t.name === "blk.1.attn_q.weight")!.offset + 1;
  const fd = fs.openSync(retrained, "r+");
  const byte = Buffer.alloc(1);
  fs.readSync(fd, byte, 0, 1, at);
  byte[0] = byte[0]! ^ 0x40;
  fs.writeSync(fd, byte, 0, 1, at);
  fs.closeSync(fd);
  writeReplicaLora(path.join(dir, "other.lora.gguf"), { base: retrained, seed: 2 });
  fs.rmSync(elsewhere, { recursive: true, force: true });
  return dir;
}
