import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { adapterSignature, resolveAdapters, type CatalogAdapter } from "@/lib/engine/adapters";
import { attachmentKindOf, autoAdapters, parseAutoAdapters } from "@/lib/engine/auto-adapters";
import { EngineError } from "@/lib/engine/errors";
import { removeSavedStates, SessionStore, stateFileName, stateKeyFor } from "@/lib/engine/sessions";
import { openAiErrorResponse } from "@/lib/openai/errors";
import { chatCompletionRequestSchema } from "@/lib/openai/schema";

const adapter = (name: string, extra: Partial<CatalogAdapter> = {}): CatalogAdapter => ({ name, path: `/m/${name}.lora.gguf`, sizeBytes: 1, kinds: [], rank: 4, alpha: 4, ...extra });
const list = [adapter("chart-skill", { kinds: ["chart"] }), adapter("audio-skill", { kinds: ["spectrogram"] }), adapter("old", { refused: "old.lora.gguf was trained on other weights." })];

describe("choosing adapters", () => {
  it("resolves names with scales, sorted, leaving out scale 0; unknown and refused names throw naming the available", () => {
    expect(resolveAdapters(list, [{ name: "chart-skill" }, { name: "audio-skill", scale: 0.5 }], "m")).toEqual([
      { name: "audio-skill", path: "/m/audio-skill.lora.gguf", scale: 0.5 },
      { name: "chart-skill", path: "/m/chart-skill.lora.gguf", scale: 1 },
    ]);
    expect(resolveAdapters(list, [{ name: "chart-skill", scale: 0 }], "m")).toEqual([]);
    expect(() => resolveAdapters(list, [{ name: "x" }], "m")).toThrow(/No adapter "x" for m\. Available: chart-skill, audio-skill\./);
    expect(() => resolveAdapters(list, [{ name: "old" }], "m")).toThrow(expect.objectContaining({ code: "adapter_refused", message: expect.stringMatching(/trained on other weights/) }));
    expect(() => resolveAdapters(list, [{ name: "chart-skill" }, { name: "chart-skill" }], "m")).toThrow(/named twice/);
    expect(() => resolveAdapters([], [{ name: "x" }], "m")).toThrow(/m has no adapters/);
    expect(adapterSignature(resolveAdapters(list, [{ name: "chart-skill" }, { name: "audio-skill", scale: 0.5 }], "m"))).toBe("audio-skill@0.5,chart-skill@1");
  });

  it("ADAPTERS_AUTO maps attachment kinds to adapters, or uses the adapters' own kinds; never a refused or missing one", () => {
    const map = parseAutoAdapters("chart=chart-skill, spectrogram=audio-skill,page=missing,video=old");
    expect(autoAdapters(map, ["chart"], list)).toEqual([{ name: "chart-skill" }]);
    expect(autoAdapters(map, ["image", "page", "video"], list)).toEqual([]);
    expect(autoAdapters(parseAutoAdapters("kinds"), ["spectrogram", "chart"], list).map((a) => a.name).sort()).toEqual(["audio-skill", "chart-skill"]);
    expect(autoAdapters(parseAutoAdapters(undefined), ["chart"], list)).toEqual([]);
    expect(() => parseAutoAdapters("chart")).toThrow(/kind=adapter-name/);
    expect(() => parseAutoAdapters("graph=x")).toThrow(/not an attachment kind/);
  });

  it("knows what kind of image the model is shown for each upload", () => {
    expect(attachmentKindOf(null)).toBe("image");
    expect(attachmentKindOf({ kind: "data", format: "csv", rowCount: 1, columns: [], rows: [], chart: { mark: "bar", x: "a", y: "b", title: "t" }, summary: "" })).toBe("chart");
    expect(attachmentKindOf({ kind: "data", format: "csv", rowCount: 1, columns: [], rows: [], chart: null, summary: "" })).toBeNull();
    expect(attachmentKindOf({ kind: "audio", format: "wav", durationSeconds: 1, sampleRate: 16000, channels: 1, note: "" })).toBe("spectrogram");
    expect(attachmentKindOf({ kind: "audio", format: "wav", durationSeconds: 1, sampleRate: 16000, channels: 1, note: "" }, { heardAsAudio: true })).toBe("audio");
    expect(attachmentKindOf({ kind: "pdf", pageCount: 1, pages: [] })).toBe("page");
  });

  it("the API's adapters field: validated by zod, and an engine's refusal is a 400 naming the parameter", async () => {
    const base = { model: "m", messages: [{ role: "user", content: "hi" }] };
    expect(chatCompletionRequestSchema.parse({ ...base, adapters: [{ name: "a", scale: 0.5 }] }).adapters).toEqual([{ name: "a", scale: 0.5 }]);
    expect(() => chatCompletionRequestSchema.parse({ ...base, adapters: [{ name: "a", scale: 5 }] })).toThrow();
    expect(() => chatCompletionRequestSchema.parse({ ...base, adapters: [{ scale: 1 }] })).toThrow();
    const res = openAiErrorResponse(new EngineError("unknown_adapter", 'No adapter "x" for m. Available: a.'));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { message: 'No adapter "x" for m. Available: a.', type: "invalid_request_error", param: "adapters", code: "engine_unknown_adapter" } });
  });
});

describe("saved states per adapter set", () => {
  it("keys a conversation's state by adapter set, and forgetting the conversation removes every set's", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lora-states-"));
    const store = new SessionStore(dir);
    const plain = stateKeyFor("conv", "");
    const withChart = stateKeyFor("conv", "chart-skill@1");
    expect(plain).toBe("conv");
    expect(stateFileName(withChart)).not.toBe(stateFileName(plain));
    expect(stateFileName(withChart).startsWith(stateFileName(plain).replace(/bin$/, ""))).toBe(true);
    for (const k of [plain, withChart, stateKeyFor("other", "chart-skill@1")]) {
      fs.writeFileSync(store.target(k), "state");
      store.commit(k);
    }
    expect(store.lookup(withChart)).toBe(store.target(withChart));
    store.remove("conv");
    expect(fs.readdirSync(dir)).toEqual([stateFileName(stateKeyFor("other", "chart-skill@1"))]);
    // And in every per-model folder (states an earlier process or engine saved).
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "lora-roots-"));
    fs.mkdirSync(path.join(root, "model-a"));
    fs.writeFileSync(path.join(root, "model-a", stateFileName(stateKeyFor("c2", "x@1"))), "s");
    fs.writeFileSync(path.join(root, "model-a", stateFileName("c2")), "s");
    removeSavedStates(root, "c2");
    expect(fs.readdirSync(path.join(root, "model-a"))).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(root, { recursive: true, force: true });
  });
});
