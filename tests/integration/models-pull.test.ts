import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scanCatalog } from "@/lib/engine/catalog";
import { ensureRandomPair } from "@/lib/gguf/random-pair";
import { sha256File } from "@/lib/models/download-file";
import { pullModel, type PullProgress } from "@/lib/models/pull-model";
import { PullError } from "@/lib/models/pull-error";
import { drain, loadEngine, MODEL_CACHE } from "../helpers/engine";
import { startHubServer, type HubTestServer } from "../helpers/hub-server";

// `npm run models:pull` against a local server that speaks the hub's API
// (tests/helpers/hub-server.ts), serving GGUF pairs this project writes:
// the tiny random-weight pair (seed 1) and the shipped demo pair. Every
// pulled pair is then read by the real catalog.

const root = path.resolve(import.meta.dirname, "..", "..");
const demo = { llm: path.join(root, "models", "tiny", "mini-llava-shapes.gguf"), mmproj: path.join(root, "models", "tiny", "mmproj-mini-llava-shapes.gguf") };
const VL = "test-org/Tiny-VL-GGUF";
const TEXT = "test-org/Tiny-Text-GGUF";
const GATED = "test-org/Gated-VL-GGUF";
const SPLIT = "test-org/Tiny-Split-GGUF";
const HALF_SPLIT = "test-org/Half-Split-GGUF";
const TOKEN = "hf_test_secret";

describe("pulling models by name", () => {
  let hub: HubTestServer;
  let random: { llm: string; mmproj: string };
  let split: { llmParts: string[] };
  const dirs: string[] = [];
  const modelsDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-pull-"));
    dirs.push(dir);
    return dir;
  };
  const hubAccess = (token: string | null = null) => ({ endpoint: hub.url, token });
  const read = (f: string) => fs.readFileSync(f);

  beforeAll(async () => {
    random = ensureRandomPair({ dir: MODEL_CACHE, preset: "tiny" });
    // The same weights as llama-gguf-split writes them: three parts, the metadata in the first.
    split = ensureRandomPair({ dir: MODEL_CACHE, preset: "tiny", splits: 3 });
    const part = (i: number) => ({ path: `Tiny-Split-Q4_K_M-0000${i + 1}-of-00003.gguf`, data: read(split.llmParts[i]!) });
    const junk = Buffer.concat([Buffer.from("GGUF"), Buffer.alloc(1024, 7)]);
    hub = await startHubServer({
      [VL]: {
        files: [
          { path: "README.md", data: Buffer.from("# Tiny VL\n") },
          // Decoys the choice must pass over: a quant nobody asked for, before Q4_K_M in the listing,
          // and a projector in a folder below the model's.
          { path: "Tiny-VL-Q2_K.gguf", data: junk },
          { path: "Tiny-VL-Q4_K_M.gguf", data: read(random.llm) },
          { path: "Tiny-VL-Q8_0.gguf", data: read(demo.llm) },
          { path: "extra/mmproj-Tiny-VL-Q4_K_M.gguf", data: junk },
          { path: "mmproj-Tiny-VL-F16.gguf", data: junk },
          { path: "mmproj-Tiny-VL-Q4_0.gguf", data: read(random.mmproj) },
          { path: "mmproj-Tiny-VL-Q8_0.gguf", data: read(demo.mmproj) },
        ],
      },
      [TEXT]: { files: [{ path: "README.md", data: Buffer.from("# text\n") }, { path: "Tiny-Text-Q8_0.gguf", data: read(random.llm) }] },
      [SPLIT]: { files: [part(0), part(1), part(2), { path: "mmproj-Tiny-Split-F16.gguf", data: read(random.mmproj) }] },
      [HALF_SPLIT]: { files: [{ ...part(0), path: "Half-Q4_K_M-00001-of-00003.gguf" }, { ...part(2), path: "Half-Q4_K_M-00003-of-00003.gguf" }] },
      [GATED]: { token: TOKEN, files: [{ path: "Gated-Q4_K_M.gguf", data: read(random.llm) }, { path: "mmproj-Gated-f16.gguf", data: read(random.mmproj) }] },
    });
  });
  afterAll(async () => {
    await hub?.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it("pulls Q4_K_M and its nearest projector by default; the catalog pairs them", async () => {
    const dir = modelsDir();
    const seen: PullProgress[] = [];
    const result = await pullModel({ name: VL, modelsDir: dir, hub: hubAccess(), onProgress: (p) => seen.push(p) });
    expect(result).toMatchObject({ tag: "Q4_K_M", textOnly: false, verified: true, alreadyInstalled: false });
    expect(path.basename(result.modelFile)).toBe("Tiny-VL-Q4_K_M.gguf");
    // Q4_K_M is 4 bits: the Q4_0 projector (4) is nearer than Q8_0 (8) and F16 (16); extra/ is below the model's folder.
    expect(path.basename(result.mmprojFile!)).toBe("mmproj-Tiny-VL-Q4_0.gguf");
    expect(await sha256File(result.modelFile)).toBe(await sha256File(random.llm));
    expect(await sha256File(result.mmprojFile!)).toBe(await sha256File(random.mmproj));
    const total = fs.statSync(random.llm).size + fs.statSync(random.mmproj).size;
    expect(seen.at(-1)).toMatchObject({ phase: "installing", bytes: total, total });
    expect(seen.some((p) => p.phase === "downloading" && p.bytes > 0 && p.bytes < total)).toBe(true);
    // Only the chosen files were fetched.
    const fetched = hub.requests.filter((r) => r.method === "GET" && r.url.includes("/resolve/")).map((r) => decodeURIComponent(r.url.split("/resolve/main/")[1]!));
    expect([...new Set(fetched)].sort()).toEqual(["Tiny-VL-Q4_K_M.gguf", "mmproj-Tiny-VL-Q4_0.gguf"]);

    const catalog = await scanCatalog({ dir });
    expect(catalog.problems).toEqual([]);
    expect(catalog.models).toHaveLength(1);
    expect(catalog.models[0]).toMatchObject({ id: "Tiny-VL-Q4_K_M", path: result.modelFile, vision: { mmprojPath: result.mmprojFile } });
    // Nothing of the download is left where the catalog looks.
    expect(fs.readdirSync(path.join(dir, ".pulls"))).toEqual([]);

    const again = await pullModel({ name: VL, modelsDir: dir, hub: hubAccess() });
    expect(again).toMatchObject({ alreadyInstalled: true, bytesFetched: 0 });
  });

  const MiB = 1 << 20;
  /** `bytes=a-b` → [a, b]. */
  const rangeOf = (r: { range: string | null }) => (/^bytes=(\d+)-(\d+)$/.exec(r.range ?? "") ?? []).slice(1).map(Number) as [number, number];
  const fileGets = (from: number, file: string) => hub.requests.slice(from).filter((r) => r.method === "GET" && r.url.endsWith(`/resolve/main/${file}`));

  it("pulls the quant asked for with the projector of the same width, resuming after the server drops the connection", async () => {
    const dir = modelsDir();
    const dropAt = 1.5 * MiB;
    hub.dropOnce(VL, "Tiny-VL-Q8_0.gguf", dropAt);
    const before = hub.requests.length;
    const result = await pullModel({ name: `${VL}:q8_0`, modelsDir: dir, hub: hubAccess(), chunkBytes: MiB });
    expect(path.basename(result.modelFile)).toBe("Tiny-VL-Q8_0.gguf");
    expect(path.basename(result.mmprojFile!)).toBe("mmproj-Tiny-VL-Q8_0.gguf");
    expect(await sha256File(result.modelFile)).toBe(await sha256File(demo.llm));

    const gets = fileGets(before, "Tiny-VL-Q8_0.gguf");
    const cut = gets.find((r) => r.bytesSent === dropAt)!;
    expect(cut).toBeDefined();
    // The retry asks for the rest of the cut range from its last whole chunk, not from its start.
    const [start, end] = rangeOf(cut);
    expect(gets.some((r) => r !== cut && rangeOf(r)[0] === start + MiB && rangeOf(r)[1] === end)).toBe(true);
    expect(gets.filter((r) => rangeOf(r)[0] === start)).toEqual([cut]);
    const catalog = await scanCatalog({ dir });
    expect(catalog.models.map((m) => [m.id, m.vision && path.basename(m.vision.mmprojPath)])).toEqual([["Tiny-VL-Q8_0", "mmproj-Tiny-VL-Q8_0.gguf"]]);
  });

  it("resumes an interrupted pull from its partial file in a later run", async () => {
    const dir = modelsDir();
    const size = fs.statSync(demo.llm).size;
    const stop = new AbortController();
    hub.throttle(8 * MiB);
    const first = await pullModel({
      name: `${VL}:Q8_0`,
      modelsDir: dir,
      hub: hubAccess(),
      chunkBytes: MiB,
      signal: stop.signal,
      onProgress: (p) => p.bytes > 3.5 * MiB && stop.abort(),
    }).catch((e: unknown) => e);
    hub.throttle(0);
    expect((first as PullError).code).toBe("cancelled");
    // The partial file (ipull keeps which chunks are whole after its end) stays in the staging folder, out of the catalog's sight.
    expect((await scanCatalog({ dir })).models).toEqual([]);
    const partial = fs.readFileSync(path.join(dir, ".pulls", "test-org--Tiny-VL-GGUF--Q8_0", "Tiny-VL-Q8_0.gguf.ipull"));
    const whole = (JSON.parse(partial.subarray(size).toString("utf8")) as { chunks: number[] }).chunks.flatMap((c, i) => (c === 2 ? [i] : []));
    expect(whole.length).toBeGreaterThan(0);

    const before = hub.requests.length;
    const second = await pullModel({ name: `${VL}:Q8_0`, modelsDir: dir, hub: hubAccess(), chunkBytes: MiB });
    expect(await sha256File(second.modelFile)).toBe(await sha256File(demo.llm));
    // Only the chunks that were not whole are asked for again.
    const gets = fileGets(before, "Tiny-VL-Q8_0.gguf");
    for (const r of gets) {
      const [a, b] = rangeOf(r);
      for (const i of whole) expect(b < i * MiB || a >= (i + 1) * MiB).toBe(true);
    }
  });

  it("refuses a file whose SHA-256 does not match and installs nothing", async () => {
    const dir = modelsDir();
    hub.corrupt(VL, "mmproj-Tiny-VL-Q4_0.gguf");
    const err = await pullModel({ name: `${VL}:Q4_K_M`, modelsDir: dir, hub: hubAccess() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PullError);
    expect((err as PullError).code).toBe("checksum");
    expect((err as PullError).message).toMatch(/does not match the hub's SHA-256.*nothing was installed/);
    expect(fs.existsSync(path.join(dir, "test-org"))).toBe(false);
    expect((await scanCatalog({ dir })).models).toEqual([]);
  });

  it("answers a gated repository without a token with what to do, and pulls it with HF_TOKEN", async () => {
    const dir = modelsDir();
    const err = await pullModel({ name: GATED, modelsDir: dir, hub: hubAccess() }).catch((e: unknown) => e);
    expect((err as PullError).code).toBe("gated");
    expect((err as PullError).message).toMatch(/gated or private \(HTTP 401.*set HF_TOKEN/);
    const wrong = await pullModel({ name: GATED, modelsDir: dir, hub: hubAccess("hf_wrong") }).catch((e: unknown) => e);
    expect((wrong as PullError).message).toMatch(/refused HF_TOKEN/);
    const result = await pullModel({ name: GATED, modelsDir: dir, hub: hubAccess(TOKEN) });
    expect(result).toMatchObject({ tag: "Q4_K_M", textOnly: false });
    const served = hub.requests.filter((r) => r.url.includes("Gated") && (r.status === 200 || r.status === 206));
    expect(served.length).toBeGreaterThanOrEqual(3);
    expect(served.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it("pulls a repository without a projector as text-only and says so", async () => {
    const dir = modelsDir();
    const result = await pullModel({ name: TEXT, modelsDir: dir, hub: hubAccess() });
    // No Q4_K_M there: Q8_0 is next.
    expect(result).toMatchObject({ tag: "Q8_0", textOnly: true, mmprojFile: null });
    const catalog = await scanCatalog({ dir });
    expect(catalog.models.map((m) => [m.id, m.vision])).toEqual([["Tiny-Text-Q8_0", null]]);
  });

  it("names the quants a repository has when the one asked for is missing", async () => {
    const err = await pullModel({ name: `${VL}:Q5_K_M`, modelsDir: modelsDir(), hub: hubAccess() }).catch((e: unknown) => e);
    expect((err as PullError).code).toBe("no_gguf");
    expect((err as PullError).message).toMatch(/no Q5_K_M GGUF file\. It offers: Q2_K, Q4_K_M, Q8_0/);
  });
  it("pulls a model split in parts whole; the catalog lists it once, and it loads and answers as the one-file model does", async () => {
    const dir = modelsDir();
    const result = await pullModel({ name: SPLIT, modelsDir: dir, hub: hubAccess() });
    expect(path.basename(result.modelFile)).toBe("Tiny-Split-Q4_K_M-00001-of-00003.gguf");
    const installed = fs.readdirSync(result.dir).filter((f) => f.endsWith(".gguf")).sort();
    expect(installed).toEqual(["Tiny-Split-Q4_K_M-00001-of-00003.gguf", "Tiny-Split-Q4_K_M-00002-of-00003.gguf", "Tiny-Split-Q4_K_M-00003-of-00003.gguf", "mmproj-Tiny-Split-F16.gguf"]);
    const catalog = await scanCatalog({ dir });
    expect(catalog.problems).toEqual([]);
    expect(catalog.models).toHaveLength(1);
    const model = catalog.models[0]!;
    const partsBytes = split.llmParts.reduce((n, f) => n + fs.statSync(f).size, 0);
    expect(model).toMatchObject({ id: "Tiny-Split-Q4_K_M", path: result.modelFile, sizeBytes: partsBytes, vision: { mmprojPath: result.mmprojFile } });
    expect(model.parts!.map((f) => path.basename(f))).toEqual(installed.slice(0, 3));
    const whole = (await scanCatalog({ dir: modelsDir(), modelPath: random.llm, mmprojPath: random.mmproj })).models[0]!;
    expect(model.parameters).toBe(whole.parameters);
    // llama.cpp finds parts 2 and 3 beside the first: the same greedy answer as the one-file model.
    const ask = { messages: [{ role: "user" as const, text: "What is in the picture?" }], maxTokens: 12, sampling: { temperature: 0 } };
    const answers: string[] = [];
    for (const m of [model, whole]) {
      const engine = await loadEngine(m, "llama-node");
      try {
        answers.push((await drain(engine, ask)).usage.text);
      } finally {
        await engine.dispose();
      }
    }
    expect(answers[0]).not.toBe("");
    expect(answers[0]).toBe(answers[1]);

    // A part gone from the folder: the catalog says which, instead of listing a model llama.cpp cannot load.
    fs.rmSync(model.parts![1]!);
    const broken = await scanCatalog({ dir });
    expect(broken.models).toEqual([]);
    expect(broken.problems).toContainEqual(expect.objectContaining({ code: "truncated", message: expect.stringContaining("is part 1 of 3, but Tiny-Split-Q4_K_M-00002-of-00003.gguf is missing") }));
  });

  it("refuses a split model whose repository lacks a part, fetching nothing", async () => {
    const dir = modelsDir();
    const before = hub.requests.length;
    await expect(pullModel({ name: HALF_SPLIT, modelsDir: dir, hub: hubAccess() })).rejects.toMatchObject({
      code: "split_model",
      message: `Half-Q4_K_M-00001-of-00003.gguf is part 1 of 3, but ${HALF_SPLIT} does not list Half-Q4_K_M-00002-of-00003.gguf.`,
    });
    expect(hub.requests.slice(before).filter((r) => r.url.includes("/resolve/"))).toEqual([]);
  });
});
