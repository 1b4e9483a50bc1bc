import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureRandomPair } from "@/lib/gguf/random-pair";
import { deleteInstalledModel, listInstalledModels } from "@/lib/models/installed-models";
import { pullModel } from "@/lib/models/pull-model";
import { drain, loadEngine, MODEL_CACHE } from "../helpers/engine";
import { startHubServer, type HubTestServer } from "../helpers/hub-server";

// What the Models page reads and does, on a pulled pair (served by the
// local hub server) and on files copied in while the "app" keeps the same
// process: the catalog is read anew on every listing.

const root = path.resolve(import.meta.dirname, "..", "..");
const REPO = "test-org/Tiny-VL-GGUF";

describe("installed models", () => {
  let hub: HubTestServer;
  let random: { llm: string; mmproj: string; imageTokens: number };
  const modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-installed-"));

  beforeAll(async () => {
    random = ensureRandomPair({ dir: MODEL_CACHE, preset: "tiny" });
    hub = await startHubServer({
      [REPO]: { files: [{ path: "Tiny-VL-Q4_K_M.gguf", data: fs.readFileSync(random.llm) }, { path: "mmproj-Tiny-VL-F16.gguf", data: fs.readFileSync(random.mmproj) }] },
    });
  });
  afterAll(async () => {
    await hub?.close();
    fs.rmSync(modelsDir, { recursive: true, force: true });
  });

  it("lists a pulled pair with its size, inputs, source and fit, and it loads and reads an image", async () => {
    const pulled = await pullModel({ name: REPO, modelsDir, hub: { endpoint: hub.url, token: null } });
    const { models, problems, memory } = await listInstalledModels({ modelsDir, contextSize: 4096 });
    expect(problems).toEqual([]);
    expect(models).toHaveLength(1);
    const m = models[0]!;
    const weights = fs.statSync(random.llm).size + fs.statSync(random.mmproj).size;
    expect(m).toMatchObject({ id: "Tiny-VL-Q4_K_M", takes: ["text", "image", "video"], source: `${REPO}:Q4_K_M`, sizeBytes: weights, removable: true });
    expect(m.files).toEqual([path.join("test-org", "Tiny-VL-GGUF", "Q4_K_M", "Tiny-VL-Q4_K_M.gguf"), path.join("test-org", "Tiny-VL-GGUF", "Q4_K_M", "mmproj-Tiny-VL-F16.gguf")]);
    // 2 layers × 2 KV heads × (16 + 16) × 2 bytes = 256 bytes a token; 4096 tokens = 1 MiB on top of the weights.
    expect(m.fit.needBytes).toBe(Math.round(weights * 1.1 + 256 * 4096 + 256 * 2 ** 20));
    expect(m.fit.fits).toBe(memory.vram ? "vram" : "ram");
    expect(memory.ram.totalBytes).toBe(os.totalmem());

    const { scanCatalog } = await import("@/lib/engine/catalog");
    const model = (await scanCatalog({ dir: modelsDir })).models[0]!;
    expect(model.vision?.mmprojPath).toBe(pulled.mmprojFile);
    const engine = await loadEngine(model, "llama-node");
    try {
      const image = path.join(root, "tests", "fixtures", "red-circle.png");
      const r = await drain(engine, { messages: [{ role: "user", text: "What is this?", images: [image] }], maxTokens: 2, sampling: { temperature: 0 } });
      const textOnly = await engine.countTokens([{ role: "user", text: "\nWhat is this?" }]);
      expect(r.usage.promptTokens).toBe(textOnly + random.imageTokens);
    } finally {
      await engine.dispose();
    }
  });

  it("notices a model copied in while it runs: a half-copied file is skipped as truncated, the whole one listed", async () => {
    const copy = path.join(modelsDir, "copied", "copied-text.gguf");
    fs.mkdirSync(path.dirname(copy));
    const bytes = fs.readFileSync(random.llm);
    fs.writeFileSync(copy, bytes.subarray(0, bytes.length >> 1));
    let listed = await listInstalledModels({ modelsDir, contextSize: 4096 });
    expect(listed.models.map((m) => m.id)).toEqual(["Tiny-VL-Q4_K_M"]);
    expect(listed.problems).toEqual([expect.objectContaining({ file: path.join("copied", "copied-text.gguf"), code: "truncated" })]);
    fs.appendFileSync(copy, bytes.subarray(bytes.length >> 1));
    listed = await listInstalledModels({ modelsDir, contextSize: 4096 });
    expect(listed.problems).toEqual([]);
    expect(listed.models.map((m) => [m.id, m.takes, m.source]).sort()).toEqual([
      ["Tiny-VL-Q4_K_M", ["text", "image", "video"], `${REPO}:Q4_K_M`],
      ["copied-text", ["text"], null],
    ]);
  });

  it("deletes a pulled model with its projector and the folders its pull made", async () => {
    expect(await deleteInstalledModel({ id: "Tiny-VL-Q4_K_M", modelsDir })).toBe(true);
    expect(fs.existsSync(path.join(modelsDir, "test-org"))).toBe(false);
    expect((await listInstalledModels({ modelsDir, contextSize: 4096 })).models.map((m) => m.id)).toEqual(["copied-text"]);
    expect(await deleteInstalledModel({ id: "no-such-model", modelsDir })).toBe(false);
    // Another folder's file is never touched.
    expect(await deleteInstalledModel({ id: "copied-text", modelsDir: path.join(modelsDir, "test-org") })).toBe(false);
    expect(fs.existsSync(path.join(modelsDir, "copied", "copied-text.gguf"))).toBe(true);
  });
  it("lists a model split in parts once, with the size of all, and Delete removes every part", async () => {
    const { llmParts } = ensureRandomPair({ dir: MODEL_CACHE, preset: "tiny", splits: 3 });
    const dir = path.join(modelsDir, "split");
    fs.mkdirSync(dir);
    for (const f of llmParts) fs.copyFileSync(f, path.join(dir, path.basename(f)));
    const listed = await listInstalledModels({ modelsDir: dir, contextSize: 4096 });
    expect(listed.problems).toEqual([]);
    const size = llmParts.reduce((n, f) => n + fs.statSync(f).size, 0);
    expect(listed.models).toEqual([expect.objectContaining({ id: "random-tiny-llava-64k-s1", sizeBytes: size, files: llmParts.map((f) => path.basename(f)), removable: true })]);
    expect(await deleteInstalledModel({ id: "random-tiny-llava-64k-s1", modelsDir: dir })).toBe(true);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
