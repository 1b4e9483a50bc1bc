import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildModelInput } from "@/lib/chat/build-model-input";
import type { CatalogModel } from "@/lib/engine/catalog";
import type { Engine } from "@/lib/engine/engine";
import { familyById } from "@/lib/engine/families";
import type { EngineMessage } from "@/lib/engine/types";
import { drain, loadEngine, type TestBackend } from "../helpers/engine";
import { FAMILY_IMAGE_SIZES, REPLICATED_FAMILIES, familyImage, replicaModel } from "../helpers/families";

/**
 * Every replicated family (tiny random-weight copies of real GGUF layouts,
 * lib/gguf/replicas) on both backends: the catalog pairs it and names the
 * family, the engine loads it, images of three sizes cost exactly what
 * llama.cpp reports, a multi-image, multi-turn conversation streams and
 * reuses its cached state, big images are downscaled to the per-image cap,
 * and the context budget drops old turns instead of overflowing.
 */
const BACKENDS: TestBackend[] = ["llama-node", "llama-server"];
const CONTEXT = 8192;

describe.each(REPLICATED_FAMILIES.flatMap((family) => BACKENDS.map((backend) => ({ family, backend }))))("$family on $backend", ({ family, backend }) => {
  let model: CatalogModel;
  let engine: Engine;
  const rule = familyById(family);

  beforeAll(async () => {
    model = await replicaModel(family);
    // No per-image cap here: the counts are compared with llama.cpp's for the images as they are.
    engine = await loadEngine(model, backend, { contextSize: CONTEXT, slots: 1, maxImageTokens: 0 });
  }, 180_000);
  afterAll(async () => {
    await engine?.dispose();
  });

  it("the catalog pairs the replica and names its family", () => {
    expect(model.vision?.family).toEqual({ id: family, label: rule.label });
    expect(model.vision?.projectorType).toSatisfy((t: string) => rule.projectorTypes.includes(t));
    expect(rule.architectures).toContain(model.architecture);
    expect(engine.info.imageCost).toBe("family");
    expect(engine.status().model.family).toBe(rule.label);
  });

  it.each(FAMILY_IMAGE_SIZES.map(([w, h]) => ({ w, h })))(
    "a $w×$h image costs what llama.cpp reports",
    async ({ w, h }) => {
      const img = await familyImage(w, h);
      const ours = await engine.imageCost(img);
      expect(ours.file).toBe(img);
      const reported = await engine.reportedImageTokens(img);
      // The in-process tokenizer lists an M-RoPE (Qwen2.5-VL) image's positions; llama-server its cells.
      expect(reported.unit).toBe(backend === "llama-node" && rule.imagePositions ? "positions" : "cells");
      expect(await engine.ruleImageTokens(img, reported.unit)).toBe(reported.tokens);
      if (reported.unit === "cells") expect(ours.tokens).toBe(reported.tokens);
    },
    120_000,
  );

  it("a two-image, three-turn conversation streams, and each follow-up reuses the cached state", async () => {
    const [a, b] = [await familyImage(64, 64, 1), await familyImage(300, 200, 2)];
    const history: EngineMessage[] = [{ role: "user", text: "What differs between these two pictures?", images: [a, b] }];
    const key = `family-${family}-${backend}`;
    const usages = [];
    for (const follow of ["Which one has the red circle?", "Describe the second one."]) {
      const turn = await drain(engine, { messages: history, sessionKey: key, maxTokens: 6, sampling: { temperature: 0 } });
      expect(turn.usage.finishReason, turn.usage.error).not.toBe("error");
      expect(turn.deltas.length).toBeGreaterThan(0);
      usages.push(turn.usage);
      history.push({ role: "assistant", text: turn.text }, { role: "user", text: follow });
    }
    const last = await drain(engine, { messages: history, sessionKey: key, maxTokens: 6, sampling: { temperature: 0 } });
    expect(last.deltas.length).toBeGreaterThan(0);
    usages.push(last.usage);
    // Turns 2 and 3 start from the saved state: the first turn's prompt, images included, is not
    // evaluated again. A few tokens at its end may be (llama-server re-reads a handful on
    // sliding-window models such as Gemma 3: 569 of 574 reused).
    for (const u of usages.slice(1)) {
      expect(u.reusedPromptTokens).toBeGreaterThanOrEqual(usages[0]!.promptTokens - 8);
    }
    // The engine's count is what the model filled (llama.node's own usage counts M-RoPE positions instead).
    if (!(backend === "llama-node" && rule.imagePositions)) expect(usages[2]!.promptTokens).toBe(await engine.countTokens(history));
  }, 180_000);

  it("the context budget drops old turns instead of overflowing when a big image arrives", async () => {
    const small = await familyImage(64, 64, 3);
    // "Big" next to the others; the 2048×1536 counts are checked above (encoding one on the
    // Qwen2.5-VL replica takes 11–15 s and 2.2 GB, window attention's mask in clip.cpp).
    const big = await familyImage(1024, 768, 1);

    const history: EngineMessage[] = [
      { role: "user", text: "First picture.", images: [small] },
      { role: "assistant", text: "A circle and a square." },
      { role: "user", text: "Second picture.", images: [small] },
      { role: "assistant", text: "The same again." },
      { role: "user", text: "And this big one?", images: [big] },
    ];
    const whole = await engine.countTokens(history);
    const last = await engine.countTokens(history.slice(-1));
    // An answer budget that leaves room for the big image's turn and half the rest, not the whole history.
    const answerTokens = CONTEXT - (last + Math.floor((whole - last) / 2));
    expect(answerTokens).toBeGreaterThan(0);
    const input = await buildModelInput({ engine, systemPrompt: null, history, answerTokens });
    expect(input.dropped).toBeGreaterThan(0);
    expect(input.promptTokens).toBeLessThanOrEqual(CONTEXT - answerTokens);
    const kept = history.slice(input.dropped);
    const answer = await drain(engine, { messages: kept, maxTokens: 2, sampling: { temperature: 0 } });
    expect(answer.usage.finishReason, answer.usage.error).not.toBe("error");
    if (!(backend === "llama-node" && rule.imagePositions)) expect(answer.usage.promptTokens).toBe(input.promptTokens);
  }, 180_000);
});

describe.each(REPLICATED_FAMILIES)("%s: a per-image cap downscales big images", (family) => {
  let engine: Engine;
  let model: CatalogModel;
  beforeAll(async () => {
    model = await replicaModel(family);
    engine = await loadEngine(model, "llama-node", { contextSize: CONTEXT, slots: 1, maxImageTokens: 300 });
  }, 180_000);
  afterAll(async () => {
    await engine?.dispose();
  });

  it("sends a smaller copy that costs at most the cap, as llama.cpp counts it", async () => {
    const big = await familyImage(2048, 1536);
    const cost = await engine.imageCost(big);
    expect(engine.info.maxImageTokens).toBe(300);
    if (!cost.downscaledFrom) {
      // The family's cost does not fall with the size (Gemma 3's fixed 258; SmolVLM scales every
      // image to 1536 px): a smaller copy would cost as much and only lose detail, so none is made.
      expect(cost.file).toBe(big);
      const cost4 = (w: number, h: number) => familyById(family).imageTokens(model.vision!.clip, w, h);
      for (const s of [0.5, 0.25, 0.1]) expect(cost4(Math.round(2048 * s), Math.round(1536 * s))).toBeGreaterThanOrEqual(cost.tokens);
      return;
    }
    expect(cost.downscaledFrom).toEqual({ width: 2048, height: 1536 });
    expect(cost.file).not.toBe(big);
    // A copy is only made when it costs less than the original.
    expect(cost.tokens).toBeLessThan((await engine.ruleImageTokens(big, "cells"))!);
    // At most the cap, or the family's floor when that is above it (LLaVA-1.6: one 576-token tile).
    const floor = (await engine.imageCost(await familyImage(64, 64))).tokens;
    expect(cost.tokens).toBeLessThanOrEqual(Math.max(300, floor));
    expect(cost.tokens).toBe(await engine.ruleImageTokens(cost.file, "cells"));
    const reported = await engine.reportedImageTokens(cost.file);
    expect(reported.tokens).toBe(await engine.ruleImageTokens(cost.file, reported.unit));
    // The aspect ratio is kept.
    expect(Math.abs(cost.width! / cost.height! - 4 / 3)).toBeLessThan(0.02);
  }, 120_000);
});
