import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { pickModel, scanCatalog } from "@/lib/engine/catalog";
import { EngineError } from "@/lib/engine/errors";
import { GgufWriter } from "@/lib/gguf/gguf-writer";
import { ensureRandomPair } from "@/lib/gguf/random-pair";
import { MODEL_CACHE } from "../helpers/engine";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "lvc-catalog-"));
let pair: ReturnType<typeof ensureRandomPair>;

beforeAll(() => {
  pair = ensureRandomPair({ dir: MODEL_CACHE, preset: "tiny" });
});

/** A metadata-only mmproj with the given projector type and width. */
function fakeMmproj(file: string, { projector = "mlp", dim = 64 }: { projector?: string; dim?: number } = {}) {
  new GgufWriter()
    .set("general.architecture", "string", "clip")
    .set("clip.projector_type", "string", projector)
    .set("clip.has_vision_encoder", "bool", true)
    .set("clip.vision.projection_dim", "u32", dim)
    .write(file);
}

describe("scanCatalog", () => {
  it("describes the pair and pairs the LLM with its mmproj", async () => {
    const dir = tmp();
    fs.copyFileSync(pair.llm, path.join(dir, "tiny.gguf"));
    fs.copyFileSync(pair.mmproj, path.join(dir, "mmproj-tiny.gguf"));
    const { models, problems } = await scanCatalog({ dir });
    expect(problems).toEqual([]);
    expect(models).toHaveLength(1);
    expect(models[0]).toMatchObject({
      id: "tiny",
      name: "random-tiny-llava",
      architecture: "llama",
      fileType: "F32",
      contextLength: 65536,
      embeddingLength: 64,
      hasChatTemplate: true,
      vision: expect.objectContaining({ mmprojPath: path.join(dir, "mmproj-tiny.gguf"), projectorType: "mlp", imageSize: 32, patchSize: 8, family: { id: "llava-1.5", label: "LLaVA-1.5" } }),
    });
    expect(models[0]!.parameters).toBeGreaterThan(100_000);
  });

  it("answers an empty folder with no_model", async () => {
    const catalog = await scanCatalog({ dir: tmp() });
    expect(() => pickModel(catalog)).toThrow(EngineError);
    expect(() => pickModel(catalog)).toThrow(/No usable GGUF language model was found/);
  });

  it("reports an mmproj with no language model beside it", async () => {
    const dir = tmp();
    fs.copyFileSync(pair.mmproj, path.join(dir, "mmproj-lonely.gguf"));
    const { models, problems } = await scanCatalog({ dir });
    expect(models).toEqual([]);
    expect(problems).toEqual([
      expect.objectContaining({ code: "orphan_mmproj", message: expect.stringMatching(/mmproj-lonely\.gguf is a vision projector, but no language model beside it matches/) }),
    ]);
    expect(() => pickModel({ models, problems })).toThrow(/Skipped: mmproj-lonely\.gguf/);
  });

  it("reports mismatched widths, for the folder and for explicit paths", async () => {
    const dir = tmp();
    fs.copyFileSync(pair.llm, path.join(dir, "tiny.gguf"));
    fakeMmproj(path.join(dir, "mmproj-tiny.gguf"), { dim: 4096 });
    const { models, problems } = await scanCatalog({ dir });
    expect(models.map((m) => m.vision)).toEqual([null]);
    expect(problems[0]).toMatchObject({ code: "width_mismatch", message: expect.stringMatching(/projects to 4096 dimensions but tiny\.gguf expects 64/) });
    await expect(
      scanCatalog({ dir: tmp(), modelPath: path.join(dir, "tiny.gguf"), mmprojPath: path.join(dir, "mmproj-tiny.gguf") }),
    ).rejects.toMatchObject({ code: "width_mismatch" });
  });

  it("refuses a projector of one family beside another family's language model, and names both", async () => {
    const dir = tmp();
    fs.copyFileSync(pair.llm, path.join(dir, "tiny.gguf")); // a "llama" language model
    fakeMmproj(path.join(dir, "mmproj-tiny.gguf"), { projector: "gemma3", dim: 64 });
    const { models, problems } = await scanCatalog({ dir });
    expect(models.map((m) => m.vision)).toEqual([null]);
    expect(problems[0]).toMatchObject({
      code: "family_mismatch",
      message: 'mmproj-tiny.gguf is a Gemma 3 projector, but tiny.gguf is a "llama" language model (Gemma 3 needs gemma3): they do not belong together.',
    });
    await expect(
      scanCatalog({ dir: tmp(), modelPath: path.join(dir, "tiny.gguf"), mmprojPath: path.join(dir, "mmproj-tiny.gguf") }),
    ).rejects.toMatchObject({ code: "family_mismatch" });
  });

  it("reports a file that is not GGUF", async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, "model.gguf"), "<html>404 Not Found</html>");
    const { problems } = await scanCatalog({ dir });
    expect(problems[0]).toMatchObject({ code: "not_gguf", message: 'model.gguf is not a GGUF file (it starts with "<htm", not "GGUF").' });
  });

  it("reports a truncated download, in the tensors and in the header", async () => {
    const dir = tmp();
    const bytes = fs.readFileSync(pair.llm);
    fs.writeFileSync(path.join(dir, "half.gguf"), bytes.subarray(0, Math.floor(bytes.length / 2)));
    fs.writeFileSync(path.join(dir, "stub.gguf"), bytes.subarray(0, 64));
    const { problems } = await scanCatalog({ dir });
    const byFile = Object.fromEntries(problems.map((p) => [path.basename(p.path), p]));
    expect(byFile["half.gguf"]).toMatchObject({ code: "truncated", message: expect.stringMatching(/^half\.gguf is truncated: it has \d+ bytes but its tensors need \d+/) });
    expect(byFile["stub.gguf"]).toMatchObject({ code: "truncated", message: expect.stringMatching(/^stub\.gguf is truncated/) });
  });

  it("reports an unsupported projector type", async () => {
    const dir = tmp();
    fs.copyFileSync(pair.llm, path.join(dir, "tiny.gguf"));
    fakeMmproj(path.join(dir, "mmproj-tiny.gguf"), { projector: "hologram" });
    const { problems } = await scanCatalog({ dir });
    expect(problems[0]).toMatchObject({ code: "unsupported_projector", message: expect.stringMatching(/uses projector type "hologram", which this build cannot run/) });
  });

  it("rejects an mmproj given as MODEL_PATH and a missing MODEL_PATH", async () => {
    await expect(scanCatalog({ dir: tmp(), modelPath: pair.mmproj })).rejects.toMatchObject({ code: "orphan_mmproj" });
    await expect(scanCatalog({ dir: tmp(), modelPath: "/nope/model.gguf" })).rejects.toMatchObject({
      code: "no_model",
      message: "MODEL_PATH /nope/model.gguf does not exist.",
    });
  });
});
