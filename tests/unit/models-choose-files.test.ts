import { describe, expect, it } from "vitest";
import { availableQuants, chooseFiles, modelParts, quantBits, splitInfo, type HubFile } from "@/lib/models/choose-files";
import { parseModelName } from "@/lib/models/model-name";
import { PullError } from "@/lib/models/pull-error";

const f = (path: string): HubFile => ({ path, size: 1, sha256: "0".repeat(64) });
const paths = (c: ReturnType<typeof chooseFiles>) => c && [c.model.path, c.mmproj?.path ?? null, c.tag];

// The listing of ggml-org/Qwen2.5-VL-3B-Instruct-GGUF as the hub shows it (names only).
const qwen = ["Qwen2.5-VL-3B-Instruct-f16.gguf", "Qwen2.5-VL-3B-Instruct-Q4_K_M.gguf", "Qwen2.5-VL-3B-Instruct-Q8_0.gguf", "mmproj-Qwen2.5-VL-3B-Instruct-f16.gguf", "mmproj-Qwen2.5-VL-3B-Instruct-Q8_0.gguf", "README.md"].map(f);

describe("choosing a repository's files as llama-server -hf does", () => {
  it("takes the quant asked for, else Q4_K_M, else Q8_0, else the first language model", () => {
    expect(paths(chooseFiles(qwen, "Q8_0"))).toEqual(["Qwen2.5-VL-3B-Instruct-Q8_0.gguf", "mmproj-Qwen2.5-VL-3B-Instruct-Q8_0.gguf", "Q8_0"]);
    expect(paths(chooseFiles(qwen, null))).toEqual(["Qwen2.5-VL-3B-Instruct-Q4_K_M.gguf", "mmproj-Qwen2.5-VL-3B-Instruct-Q8_0.gguf", "Q4_K_M"]);
    expect(paths(chooseFiles(qwen, "F16"))).toEqual(["Qwen2.5-VL-3B-Instruct-f16.gguf", "mmproj-Qwen2.5-VL-3B-Instruct-f16.gguf", "F16"]);
    expect(chooseFiles(qwen.filter((x) => !x.path.includes("Q4_K_M")), null)?.model.path).toBe("Qwen2.5-VL-3B-Instruct-Q8_0.gguf");
    expect(chooseFiles([f("a-IQ2_XS.gguf"), f("a-IQ3_M.gguf")], null)?.model.path).toBe("a-IQ2_XS.gguf");
    expect(chooseFiles(qwen, "Q5_K_M")).toBeNull();
    expect(availableQuants(qwen)).toEqual(["F16", "Q4_K_M", "Q8_0"]);
  });

  it("never takes a projector, an imatrix or a draft head for the language model", () => {
    const files = ["mmproj-a-Q4_K_M.gguf", "a.imatrix-Q4_K_M.gguf", "mtp-a-Q4_K_M.gguf", "a-Q4_K_M.gguf"].map(f);
    expect(chooseFiles(files, null)?.model.path).toBe("a-Q4_K_M.gguf");
  });

  it("pairs the projector from the model's folder or above (deepest first), nearest in bit width", () => {
    const files = ["mmproj-F16.gguf", "q4/model-Q4_K_M.gguf", "q4/mmproj-Q8_0.gguf", "other/mmproj-Q4_0.gguf", "q8/model-Q8_0.gguf"].map(f);
    // q4/'s own projector wins over the root's; other/ is not above q4/.
    expect(chooseFiles(files, "Q4_K_M")?.mmproj?.path).toBe("q4/mmproj-Q8_0.gguf");
    // q8/ has none: the root's.
    expect(chooseFiles(files, "Q8_0")?.mmproj?.path).toBe("mmproj-F16.gguf");
    expect(chooseFiles([f("m-Q4_K_M.gguf"), f("sub/mmproj-Q4_0.gguf")], null)?.mmproj).toBeNull();
  });

  it("reads quant tags and split parts like llama.cpp", () => {
    expect(quantBits("x-Q4_K_M.gguf")).toBe(4);
    expect(quantBits("mmproj-x-f16.gguf")).toBe(16);
    expect(quantBits("x.gguf")).toBe(0);
    expect(splitInfo("big-Q8_0-00002-of-00003.gguf")).toEqual({ prefix: "big-Q8_0", tag: "Q8_0", index: 2, count: 3 });
    expect(chooseFiles(["big-Q8_0-00002-of-00003.gguf", "big-Q8_0-00001-of-00003.gguf"].map(f), "Q8_0")?.model.path).toBe("big-Q8_0-00001-of-00003.gguf");
    // Every part is pulled, in order, from the model's folder; a part the listing lacks is named.
    const big = ["Q8_0/big-Q8_0-00003-of-00003.gguf", "Q8_0/big-Q8_0-00001-of-00003.gguf", "big-Q8_0-00002-of-00003.gguf", "Q8_0/big-Q8_0-00002-of-00003.gguf"].map(f);
    expect(modelParts(big, big[1]!)).toEqual({ parts: [big[1], big[3], big[0]], missing: [] });
    expect(modelParts(big.slice(0, 3), big[1]!)).toEqual({ parts: [big[1], big[0]], missing: ["Q8_0/big-Q8_0-00002-of-00003.gguf"] });
    expect(modelParts(qwen, qwen[1]!)).toEqual({ parts: [qwen[1]], missing: [] });
  });

  it("parses model names and refuses anything else", () => {
    expect(parseModelName("ggml-org/Qwen2.5-VL-3B-Instruct-GGUF:q4_k_m")).toEqual({ repo: "ggml-org/Qwen2.5-VL-3B-Instruct-GGUF", quant: "Q4_K_M" });
    expect(parseModelName("hf.co/a/b")).toEqual({ repo: "a/b", quant: null });
    for (const bad of ["a", "a/b/c", "../x/y", "a/..", "a/b:c:d", "a/b:Q4 K"]) expect(() => parseModelName(bad)).toThrow(PullError);
  });
});
