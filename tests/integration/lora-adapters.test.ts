import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scanCatalog, type CatalogModel } from "@/lib/engine/catalog";
import type { Engine } from "@/lib/engine/engine";
import type { AdapterRequest } from "@/lib/engine/adapters";
import { stateFileName } from "@/lib/engine/sessions";
import { GgufWriter } from "@/lib/gguf/gguf-writer";
import type { EngineMessage } from "@/lib/engine/types";
import { drain, loadEngine, type TestBackend } from "../helpers/engine";
import { demoModelsWithAdapters } from "../helpers/lora";

// LoRA adapters at run time on the shipped demo model, through llama.cpp on
// both local engines: replica adapters written by the test with the
// project's writer (one that swaps two letters, a zero one, one trained on
// other weights).

const IMAGE = path.resolve(import.meta.dirname, "..", "fixtures", "red-circle.png");
let dir: string;
let model: CatalogModel;

beforeAll(async () => {
  dir = await demoModelsWithAdapters();
  const catalog = await scanCatalog({ dir });
  model = catalog.models.find((m) => m.vision)!;
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("the catalog", () => {
  it("pairs adapters with their base by fingerprint and refuses one trained on other weights", async () => {
    const catalog = await scanCatalog({ dir });
    // Adapters are never listed as models.
    expect(catalog.models.map((m) => m.id)).toEqual(["mini-llava-shapes"]);
    const adapters = Object.fromEntries(model.adapters!.map((a) => [a.name, a]));
    expect(Object.keys(adapters)).toEqual(["other", "swap", "zero"]);
    expect(adapters.swap).toMatchObject({ kinds: ["chart"], rank: 2, alpha: 2, description: "swaps r and b" });
    expect(adapters.swap!.refused).toBeUndefined();
    expect(adapters.swap!.sizeBytes).toBe(fs.statSync(path.join(dir, "swap.lora.gguf")).size);
    expect(adapters.zero!.refused).toBeUndefined();
    expect(adapters.other!.refused).toMatch(/other\.lora\.gguf was trained on other weights .*not on mini-llava-shapes .*Train or export it again/);
  });

  it("refuses an adapter that does not name its base weights, and reports one that fits no model here", async () => {
    const extra = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-lora-catalog-"));
    for (const f of ["mini-llava-shapes.gguf", "mmproj-mini-llava-shapes.gguf", "swap.lora.gguf"]) fs.copyFileSync(path.join(dir, f), path.join(extra, f));
    // As convert_lora_to_gguf.py writes one: llama.cpp's keys only, no lvc.base.fingerprint.
    new GgufWriter()
      .set("general.architecture", "string", "llama")
      .set("general.type", "string", "adapter")
      .set("adapter.type", "string", "lora")
      .set("adapter.lora.alpha", "f32", 1)
      .addTensor("blk.0.attn_q.weight.lora_a", [192, 1], "F32", new Float32Array(192))
      .addTensor("blk.0.attn_q.weight.lora_b", [1, 192], "F32", new Float32Array(192))
      .write(path.join(extra, "converted.lora.gguf"));
    // Another model's adapter, in a folder of its own.
    fs.mkdirSync(path.join(extra, "elsewhere"));
    fs.copyFileSync(path.join(dir, "other.lora.gguf"), path.join(extra, "elsewhere", "other.lora.gguf"));
    const catalog = await scanCatalog({ dir: extra });
    const m = catalog.models.find((x) => x.vision)!;
    expect(m.adapters!.map((a) => [a.name, Boolean(a.refused)])).toEqual([
      ["converted", true],
      ["swap", false],
    ]);
    expect(m.adapters![0]!.refused).toMatch(/does not say which weights it was trained on \(no lvc\.base\.fingerprint\)/);
    expect(catalog.problems).toEqual([
      expect.objectContaining({ path: path.join(extra, "elsewhere", "other.lora.gguf"), code: "adapter_refused", message: expect.stringMatching(/for weights no model here has \("mini-llava-shapes"\)/) }),
    ]);
    fs.rmSync(extra, { recursive: true, force: true });
  });
});

const greedy = { temperature: 0 };
const question: EngineMessage[] = [{ role: "user", text: "What color is the circle?", images: [IMAGE] }];

describe.each<TestBackend>(["llama-node", "llama-server"])("adapters on %s", (backend) => {
  let engine: Engine;
  let base: string;
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), `lvc-lora-${backend}-`));
  beforeAll(async () => {
    engine = await loadEngine(model, backend, { cacheDir });
    base = await answer();
  }, 180_000);
  afterAll(async () => {
    await engine?.dispose();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  async function answer(adapters?: AdapterRequest[], messages = question, sessionKey?: string) {
    const { text, usage } = await drain(engine, { messages, maxTokens: 24, sampling: greedy, adapters, sessionKey });
    if (usage.finishReason === "error") throw new Error(`the engine failed: ${usage.error}`);
    return text;
  }

  it("offers the paired adapters and lists the mismatched one as refused", () => {
    const list = engine.adapters();
    expect(list.filter((a) => !a.refused).map((a) => a.name)).toEqual(["swap", "zero"]);
    expect(list.find((a) => a.name === "other")!.refused).toMatch(/trained on other weights/);
    expect(engine.info.adapters).toEqual(["swap", "zero"]);
  });

  it("an adapter changes the greedy answer, a zero one changes nothing, and the stats name them", async () => {
    expect(base).toBe("The circle is red.");
    const { text: withSwap, usage } = await drain(engine, { messages: question, maxTokens: 24, sampling: greedy, adapters: [{ name: "swap" }] });
    // Where the model meant "r" it wrote "b", and went on from there: "ci-b…" became "blue".
    expect(withSwap).toBe("The ciblue is blue.");
    expect(usage.adapters).toEqual([{ name: "swap", scale: 1 }]);
    expect(await answer([{ name: "zero" }])).toBe(base);
    // Scale 0 is the base model; another scale is applied as asked (−1 pushes the two letters apart: another answer).
    expect(await answer([{ name: "swap", scale: 0 }])).toBe(base);
    const { text: negative, usage: negativeUsage } = await drain(engine, { messages: question, maxTokens: 24, sampling: greedy, adapters: [{ name: "swap", scale: -1 }] });
    expect(negative).not.toBe(withSwap);
    expect(negativeUsage.adapters).toEqual([{ name: "swap", scale: -1 }]);
    // And the base model again, with nothing left applied.
    expect(await answer()).toBe(base);
    const { usage: plain } = await drain(engine, { messages: question, maxTokens: 4, sampling: greedy });
    expect(plain.adapters).toBeUndefined();
  });

  it("refuses the mismatched adapter and unknown names, naming what is available", async () => {
    await expect(answer([{ name: "other" }])).rejects.toMatchObject({ code: "adapter_refused", message: expect.stringMatching(/other\.lora\.gguf was trained on other weights.*Available: swap, zero\./) });
    await expect(answer([{ name: "nope" }])).rejects.toMatchObject({ code: "unknown_adapter", message: expect.stringMatching(/No adapter "nope".*Available: swap, zero\./) });
  });

  it("interleaved answers with and without the adapter each get their own (no state leaks between them)", async () => {
    const withSwap = await answer([{ name: "swap" }]);
    const plan: (AdapterRequest[] | undefined)[] = [undefined, [{ name: "swap" }], undefined, [{ name: "swap" }], [{ name: "zero" }], [{ name: "swap" }]];
    // Conversations of their own (sessionKey) too: saved state must not carry an adapter across.
    const got = await Promise.all(plan.map((a, i) => answer(a, question, i % 2 ? `mix-${i}` : undefined)));
    expect(got).toEqual(plan.map((a) => (a?.[0]?.name === "swap" ? withSwap : base)));
  });

  it("a conversation's cached state is never reused under another adapter set", async () => {
    const key = `conv-${backend}`;
    const t1 = await answer([{ name: "swap" }], question, key);
    const turn2: EngineMessage[] = [...question, { role: "assistant", text: t1 }, { role: "user", text: "And what shape is it?" }];
    // Same conversation, adapter off: nothing computed with the adapter is reused, and the answer is the base model's.
    const off = await drain(engine, { messages: turn2, maxTokens: 24, sampling: greedy, sessionKey: key });
    expect(off.usage.finishReason).not.toBe("error");
    expect(off.usage.reusedPromptTokens).toBe(0);
    expect(off.text).toBe(await answer(undefined, turn2));
    // Adapter on again: its own state (turn 1, computed with it) is reused.
    const on = await drain(engine, { messages: turn2, maxTokens: 24, sampling: greedy, sessionKey: key, adapters: [{ name: "swap" }] });
    expect(on.usage.finishReason).not.toBe("error");
    expect(on.usage.reusedPromptTokens).toBeGreaterThan(0);
    expect(on.text).toBe(await answer([{ name: "swap" }], turn2));
    // Forgetting the conversation deletes its saved states under every set.
    const prefix = stateFileName(key).slice(0, -".bin".length);
    const saved = () => (fs.readdirSync(cacheDir, { recursive: true }) as string[]).filter((f) => path.basename(f).startsWith(`${prefix}.`));
    expect(saved().length).toBeGreaterThanOrEqual(2);
    await engine.forgetSession(key);
    expect(saved()).toEqual([]);
  });
});
