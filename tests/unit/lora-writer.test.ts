import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ggufFingerprint } from "@/lib/gguf/fingerprint";
import { readGgufHeader } from "@/lib/gguf/gguf-header";
import { readLoraInfo, writeLoraGguf } from "@/lib/gguf/lora";

const BASE = path.resolve("models/tiny/mini-llava-shapes.gguf");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lora-writer-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const filled = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));

describe("writeLoraGguf", () => {
  it("writes llama.cpp's adapter layout: keys, pairs, ggml shapes and our base fingerprint", () => {
    const file = path.join(dir, "shapes.lora.gguf");
    // blk.0.ffn_up.weight is ggml [192, 512]: n_in 192, n_out 512.
    const a = filled(4 * 192, (i) => i / 1000);
    const b = filled(512 * 4, (i) => -i / 1000);
    const out = writeLoraGguf(file, {
      base: BASE, alpha: 8, kinds: ["chart"], description: "test",
      tensors: [
        { target: "blk.0.ffn_up.weight", rank: 4, a, b },
        { target: "blk.1.attn_q.weight", rank: 2, a: new Float32Array(2 * 192), b: new Float32Array(192 * 2) },
      ],
    });
    expect(out.parameters).toBe(4 * (192 + 512) + 2 * (192 + 192));
    const h = readGgufHeader(file);
    expect(h.metadata).toMatchObject({
      "general.type": "adapter", "adapter.type": "lora", "adapter.lora.alpha": 8,
      "general.architecture": "llama", "general.name": "shapes", "lvc.base.name": "mini-llava-shapes",
    });
    expect(h.metadata["lvc.base.fingerprint"]).toBe(ggufFingerprint(BASE));
    expect(h.arrays["lvc.adapter.kinds"]).toEqual(["chart"]);
    const shapes = Object.fromEntries(h.tensors.map((t) => [t.name, t.shape.join("x")]));
    expect(shapes).toEqual({
      "blk.0.ffn_up.weight.lora_a": "192x4", "blk.0.ffn_up.weight.lora_b": "4x512",
      "blk.1.attn_q.weight.lora_a": "192x2", "blk.1.attn_q.weight.lora_b": "2x192",
    });
    // Data is stored as given (F32, PyTorch row-major = ggml order).
    const t = h.tensors.find((x) => x.name === "blk.0.ffn_up.weight.lora_b")!;
    const raw = fs.readFileSync(file).subarray(h.dataOffset + t.offset, h.dataOffset + t.offset + b.byteLength);
    expect(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength))).toEqual(b);
    expect(readLoraInfo(file)).toMatchObject({ name: "shapes", alpha: 8, rank: 4, kinds: ["chart"], description: "test", baseFingerprint: ggufFingerprint(BASE), targets: ["blk.0.ffn_up.weight", "blk.1.attn_q.weight"] });
  });

  it("writes token_embd the transposed way llm_build_inp_embd reads it", () => {
    const file = path.join(dir, "embd.lora.gguf");
    // token_embd is ggml [192, 354]: ΔE [354, 192] = B [354, r] · A [r, 192].
    const a = filled(3 * 192, (i) => i);
    const b = filled(354 * 3, (i) => i);
    writeLoraGguf(file, { base: BASE, tensors: [{ target: "token_embd.weight", rank: 3, a, b }], type: "F16" });
    const h = readGgufHeader(file);
    expect(h.tensors.map((t) => [t.name, t.shape.join("x"), t.type])).toEqual([
      ["token_embd.weight.lora_a", "3x354", 1],
      ["token_embd.weight.lora_b", "3x192", 1],
    ]);
    expect(h.metadata["adapter.lora.alpha"]).toBe(3);
  });

  it("refuses what llama.cpp would refuse, writing nothing", () => {
    const file = path.join(dir, "bad.lora.gguf");
    const ok = { rank: 1, a: new Float32Array(192), b: new Float32Array(192) };
    expect(() => writeLoraGguf(file, { base: BASE, tensors: [{ ...ok, target: "blk.9.attn_q.weight" }] })).toThrow(/no such tensor/);
    expect(() => writeLoraGguf(file, { base: BASE, tensors: [{ ...ok, target: "blk.0.attn_norm.weight" }] })).toThrow(/2-D/);
    expect(() => writeLoraGguf(file, { base: BASE, tensors: [{ ...ok, target: "blk.0.ffn_up.weight" }] })).toThrow(/B must be \[512, 1\]/);
    expect(() => writeLoraGguf(file, { base: BASE, tensors: [{ ...ok, target: "blk.0.attn_q.weight", a: new Float32Array(192).fill(NaN) }] })).toThrow(/non-finite/);
    expect(() => writeLoraGguf(file, { base: "models/tiny/mmproj-mini-llava-shapes.gguf", tensors: [{ ...ok, target: "x" }] })).toThrow(/mmproj/);
    expect(fs.existsSync(file)).toBe(false);
  });
});

describe("ggufFingerprint", () => {
  it("is stable and changes when one weight byte changes", () => {
    const copy = path.join(dir, "copy.gguf");
    fs.copyFileSync(BASE, copy);
    const before = ggufFingerprint(copy);
    expect(before).toMatch(/^gguf-w1:[0-9a-f]{64}$/);
    expect(ggufFingerprint(copy)).toBe(before);
    const h = readGgufHeader(copy);
    const fd = fs.openSync(copy, "r+");
    const at = h.dataOffset + h.tensors.find((t) => t.name === "blk.2.ffn_down.weight")!.offset + 1234;
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, at);
    byte[0] = byte[0]! ^ 1;
    fs.writeSync(fd, byte, 0, 1, at);
    fs.closeSync(fd);
    expect(ggufFingerprint(copy)).not.toBe(before);
  });
});
