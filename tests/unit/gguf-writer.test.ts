import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { describe, expect, it } from "vitest";
import { encodeTensor, GgufWriter } from "@/lib/gguf/gguf-writer";
import { float16BitsToFloat32, float32ToFloat16Bits } from "@/lib/gguf/half";
import { ensureRandomPair } from "@/lib/gguf/random-pair";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "lvc-gguf-"));

describe("GgufWriter", () => {
  it("writes every metadata type so llama.cpp's reader gets them back", async () => {
    const file = path.join(tmp(), "meta.gguf");
    new GgufWriter()
      .set("general.architecture", "string", "llama")
      .set("t.u8", "u8", 200)
      .set("t.i8", "i8", -100)
      .set("t.u16", "u16", 60000)
      .set("t.i16", "i16", -30000)
      .set("t.u32", "u32", 4_000_000_000)
      .set("t.i32", "i32", -2_000_000_000)
      .set("t.u64", "u64", 2n ** 40n)
      .set("t.i64", "i64", -(2n ** 40n))
      .set("t.f32", "f32", 1.5)
      .set("t.f64", "f64", Math.PI)
      .set("t.bool", "bool", true)
      .set("t.str", "string", "héllo ▁ wörld")
      .setArray("t.arr", "i32", [1, -2, 3])
      .setArray("t.strs", "string", ["a", "", "ü"])
      .addTensor("x", [32, 2], "F32", new Float32Array(64).map((_, i) => i))
      .write(file);
    const info = await readGgufFileInfo(file, { logWarnings: false });
    const t = (info.metadata as unknown as { t: Record<string, unknown> }).t;
    expect(t).toMatchObject({ u8: 200, i8: -100, u16: 60000, i16: -30000, u32: 4_000_000_000, i32: -2_000_000_000, f32: 1.5, bool: true, str: "héllo ▁ wörld" });
    expect(BigInt(t.u64 as bigint)).toBe(2n ** 40n);
    expect(BigInt(t.i64 as bigint)).toBe(-(2n ** 40n));
    expect(t.f64).toBeCloseTo(Math.PI, 12);
    expect(t.arr).toEqual([1, -2, 3]);
    expect(t.strs).toEqual(["a", "", "ü"]);
    expect(info.tensorInfo).toEqual([expect.objectContaining({ name: "x", dimensions: [32, 2], ggmlType: 0 })]);
    // Tensor data starts aligned to 32 bytes and holds the values.
    const offset = Number(info.tensorInfo![0]!.fileOffset);
    expect(offset % 32).toBe(0);
    const data = fs.readFileSync(file).subarray(offset, offset + 256);
    expect(new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + 256))[63]).toBe(63);
  });

  it("encodes F16 and Q8_0 like ggml", () => {
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(1e6)).toBe(0x7c00);
    expect(float16BitsToFloat32(float32ToFloat16Bits(0.1))).toBeCloseTo(0.1, 3);
    const values = new Float32Array(32).map((_, i) => (i - 16) / 4);
    const q = encodeTensor("Q8_0", values);
    expect(q.length).toBe(34);
    const d = float16BitsToFloat32(q.readUInt16LE(0));
    expect(d).toBeCloseTo(4 / 127, 4);
    expect(q.readInt8(2)).toBe(-127);
    for (let i = 0; i < 32; i++) expect(q.readInt8(2 + i) * d).toBeCloseTo(values[i]!, 1);
  });

  it("makes byte-identical random pairs from the same seed, and different ones from another", () => {
    const a = ensureRandomPair({ dir: tmp(), preset: "tiny", seed: 7 });
    const b = ensureRandomPair({ dir: tmp(), preset: "tiny", seed: 7 });
    const c = ensureRandomPair({ dir: tmp(), preset: "tiny", seed: 8 });
    expect(fs.readFileSync(a.llm).equals(fs.readFileSync(b.llm))).toBe(true);
    expect(fs.readFileSync(a.mmproj).equals(fs.readFileSync(b.mmproj))).toBe(true);
    expect(fs.readFileSync(a.llm).equals(fs.readFileSync(c.llm))).toBe(false);
  });
});
