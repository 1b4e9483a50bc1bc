import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scanCatalog, type CatalogModel } from "@/lib/engine/catalog";
import type { Engine } from "@/lib/engine/engine";
import { AUDIO_FAMILY_RULES, audioTokens, whisperChunks, type AudioFamilyId, type ChunkMode } from "@/lib/engine/families/audio";
import { AUDIO_REPLICAS } from "@/lib/gguf/replicas";
import { drain, loadEngine, MODEL_CACHE, type TestBackend } from "../helpers/engine";
import { familyImage } from "../helpers/families";
import { chat, newConversation } from "../helpers/chat";
import { ask, startMediaApp, uploadFile, type MediaApp } from "../helpers/media-app";
import { wav } from "../helpers/media-files";

// libmtmd's native audio path with the audio-family replicas written here
// (Ultravox: an audio-only projector; Qwen2.5-Omni: one projector that sees
// and hears), on both local engines: a clip is sent as audio (the
// in-process binding's media path, llama-server's multimodal data, which is
// what it makes of an `input_audio` part), an answer streams, and what a
// clip of N seconds costs is what llama.cpp counts.

const FAMILIES: AudioFamilyId[] = ["ultravox", "qwen2.5-omni"];
const BACKENDS: TestBackend[] = ["llama-node", "llama-server"];

/** How each engine's llama.cpp chunks a clip (measured at load from a 1 s probe; see families/audio.ts). */
const MODE: Record<string, ChunkMode> = { "llama-node": "min-30s", "llama-server": "padded" };

async function audioReplica(id: AudioFamilyId): Promise<CatalogModel> {
  const dir = path.join(MODEL_CACHE, "audio-families", id);
  const files = AUDIO_REPLICAS[id](dir);
  const { models, problems } = await scanCatalog({ dir });
  expect(problems).toEqual([]);
  return models.find((m) => m.path === files.llm)!;
}

/** A 440 Hz tone of `seconds` at 16 kHz, as WAV bytes. */
const tone = (seconds: number) => wav(Float32Array.from({ length: Math.round(seconds * 16_000) }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / 16_000)));

const clipsDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-native-audio-"));
const clip = (seconds: number) => {
  const file = path.join(clipsDir, `tone-${seconds}s.wav`);
  if (!fs.existsSync(file)) fs.writeFileSync(file, tone(seconds));
  return file;
};
afterAll(() => fs.rmSync(clipsDir, { recursive: true, force: true }));

describe.each(FAMILIES)("the %s replica", (family) => {
  const rule = AUDIO_FAMILY_RULES.find((r) => r.id === family)!;

  it("is paired by the catalog as a model that hears (and, for Qwen2.5-Omni, sees)", async () => {
    const model = await audioReplica(family);
    expect(model.audio).toMatchObject({ projectorType: family === "ultravox" ? "ultravox" : "qwen2.5o", family: { id: family, label: rule.label } });
    expect(Boolean(model.vision)).toBe(family === "qwen2.5-omni");
    expect(model.audio!.clip["clip.audio.num_mel_bins"]).toBe(128);
  });

  describe.each(BACKENDS)("on %s", (backend) => {
    let engine: Engine;
    let model: CatalogModel;
    beforeAll(async () => {
      model = await audioReplica(family);
      engine = await loadEngine(model, backend, { contextSize: 4096, slots: 1 });
    });
    afterAll(() => engine?.dispose());

    it("loads the projector's audio encoder and says what the model takes", () => {
      expect(engine.info).toMatchObject({ audio: true, vision: family === "qwen2.5-omni" });
      expect(engine.status().model.family).toBe(rule.label);
      // The 1 s probe's cost, as this llama.cpp counted it, is the family's rule in this engine's chunking.
      expect(engine.info.audioProbeTokens).toBe(audioTokens(rule, model.audio!.clip, 16_000, MODE[backend]));
    });

    it("streams an answer to a clip sent as audio, and a clip costs what llama.cpp counts", async () => {
      const costs: Record<number, number> = {};
      for (const seconds of [1, 3, 35, 61]) {
        const messages = [{ role: "user" as const, text: "What do you hear?", images: [clip(seconds)] }];
        const counted = await engine.countTokens(messages);
        const r = await drain(engine, { messages, maxTokens: 4, sampling: { temperature: 0 } });
        expect(r.usage.finishReason).not.toBe("error");
        expect(r.deltas.length).toBeGreaterThan(0);
        // llama.cpp's own count of the prompt (llama-server's prompt_n + cache_n; the binding's timings) is the engine's count.
        expect(r.usage.promptTokens).toBe(counted);
        const cost = await engine.audioCost(clip(seconds));
        expect(cost.samples).toBe(seconds * 16_000);
        expect(cost.tokens).toBe(audioTokens(rule, model.audio!.clip, seconds * 16_000, MODE[backend]));
        costs[seconds] = cost.tokens;
      }
      // Every 30 s chunk costs the family's embeddings: llama-server pads the clip with 30 s of silence
      // (1 s and 3 s: one chunk; 35 s: two; 61 s: three), the binding pads it to 30 s first (two, two, two, three).
      const per = rule.tokensPerChunk(model.audio!.clip);
      expect(per).toBe(family === "ultravox" ? 375 : 750);
      const chunks = [1, 3, 35, 61].map((s) => whisperChunks(s * 16_000, MODE[backend]));
      expect(chunks).toEqual(backend === "llama-server" ? [1, 1, 2, 3] : [2, 2, 2, 3]);
      expect([1, 3, 35, 61].map((s) => costs[s])).toEqual(chunks.map((c) => rule.markers + c * per));
    });

    it(family === "ultravox" ? "refuses an image: the projector only hears" : "still sees images", async () => {
      const messages = [{ role: "user" as const, text: "What is this?", images: [await familyImage(64, 64)] }];
      if (family === "ultravox") await expect(engine.countTokens(messages)).rejects.toThrow(/cannot see images/);
      else expect(await engine.countTokens(messages)).toBeGreaterThan(4);
    });
  });
});

// Through the app: /v1 `input_audio` and an audio upload in the chat, on the
// engine the app runs. Each family on one engine, each engine with one family:
// what a clip costs on every family × engine pair is checked above without an
// app, and the routes do not depend on the pair (two app starts fewer, ~25 s of CI).
describe.each([
  ["ultravox", "in-process"],
  ["qwen2.5-omni", "llama-server"],
] as const)("the %s replica in the app (%s)", (family, engineKind) => {
  let app: MediaApp;
  let model: CatalogModel;
  let secret: string;
  const rule = AUDIO_FAMILY_RULES.find((r) => r.id === family)!;
  const mode = engineKind === "llama-server" ? "padded" : "min-30s";
  beforeAll(async () => {
    model = await audioReplica(family);
    // No transcripts here (AUDIO_TRANSCRIPTS=false): these prompts are counted token by token.
    app = await startMediaApp({ MODEL_PATH: model.path, MMPROJ_PATH: model.audio!.mmprojPath, ENGINE: engineKind, CONTEXT_SIZE: "4096", PARALLEL_SLOTS: "1", AUDIO_TRANSCRIPTS: "false" });
    const res = await app.client.fetch("/api/keys", { method: "POST", json: { name: "audio" } });
    expect(res.status).toBe(201);
    secret = ((await res.json()) as { secret: string }).secret;
  });
  afterAll(() => app?.stop());

  const v1 = (route: string, body?: unknown) =>
    fetch(`${app.server.url}/v1${route}`, {
      method: body ? "POST" : "GET",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: body ? JSON.stringify(body) : undefined,
    });

  it("lists audio among the model's input modalities", async () => {
    const { data } = (await (await v1("/models")).json()) as { data: { input_modalities: string[]; modalities: { vision: boolean; audio: boolean } }[] };
    expect(data[0]!.modalities).toEqual({ vision: family === "qwen2.5-omni", audio: true });
    expect(data[0]!.input_modalities).toContain("audio");
    expect(data[0]!.input_modalities.includes("image")).toBe(family === "qwen2.5-omni");
    // The app's model status says so too, with the family.
    const health = (await (await fetch(`${app.server.url}/api/health`)).json()) as {
      model: { model: { family: string }; backend: { audio: boolean; vision: boolean } };
      speech: unknown;
    };
    expect(health.model).toMatchObject({ model: { family: rule.label }, backend: { audio: true, vision: family === "qwen2.5-omni" } });
    expect(health.speech).toBeNull();
  });

  it("streams an answer to an input_audio part, and its usage counts the clip as llama.cpp does", async () => {
    const res = await v1("/chat/completions", {
      model: model.id,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 4,
      temperature: 0,
      messages: [{ role: "user", content: [{ type: "text", text: "What do you hear?" }, { type: "input_audio", input_audio: { data: tone(2).toString("base64"), format: "wav" } }] }],
    });
    expect(res.status).toBe(200);
    const events = (await res.text())
      .split("\n\n")
      .filter((e) => e.startsWith("data: ") && !e.includes("[DONE]"))
      .map((e) => JSON.parse(e.slice(6)) as { choices: { delta?: { content?: string } }[]; usage?: { prompt_tokens: number } });
    expect(events.some((e) => e.choices[0]?.delta?.content)).toBe(true);
    const usage = events.find((e) => e.usage)!.usage!;
    // The same words as text only, with the line the app writes for the clip (and the line break after
    // the clip's marker; libmtmd tokenises the text on each side apart): the difference is the clip.
    const textOnly = await v1("/chat/completions", {
      model: model.id,
      max_tokens: 1,
      messages: [{ role: "user", content: "\n[Audio, 0:02 long: the clip above.]\nWhat do you hear?" }],
    });
    const plain = ((await textOnly.json()) as { usage: { prompt_tokens: number } }).usage.prompt_tokens;
    expect(usage.prompt_tokens - plain).toBe(audioTokens(rule, model.audio!.clip, 2 * 16_000, mode));
  }, 300_000);

  it.runIf(family === "ultravox")("refuses an image in the chat to a model that only hears, saying what it takes", async () => {
    const png = await uploadFile(app.client, fs.readFileSync(await familyImage(64, 64)), "plain.png", "image/png");
    expect(png.status).toBe(201);
    const id = await newConversation(app.client);
    const r = await chat(app.client, { id, message: { role: "user", parts: [{ type: "file", url: png.body.attachment.url, mediaType: "image/png" }, { type: "text", text: "What is this?" }] } });
    expect(r.status).toBe(400);
    expect(r.json?.error.message).toMatch(/hears audio but cannot see images/);
  });

  it("sends an audio upload in the chat to the model as audio, not as its spectrogram", async () => {
    const dir = path.join(app.dataDir, "cache", "audio");
    const copies = () => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".wav")).length : 0);
    const before = copies();
    const up = await uploadFile(app.client, tone(1), "tone.wav", "audio/wav");
    expect(up.status).toBe(201);
    const withAudio = await ask(app.client, "What do you hear?", [{ url: up.body.attachment.url, mediaType: "audio/wav" }]);
    const textOnly = await ask(app.client, "[Audio, 0:01 long: the clip above.]\nWhat do you hear?");
    // The clip's tokens (one line break less in the text-only prompt, where no marker splits it).
    const clipTokens = audioTokens(rule, model.audio!.clip, 16_000, mode);
    expect(withAudio.promptTokens - textOnly.promptTokens).toBeGreaterThanOrEqual(clipTokens);
    expect(withAudio.promptTokens - textOnly.promptTokens).toBeLessThanOrEqual(clipTokens + 1);
    // The engine made its 16 kHz WAV copy of the clip: the clip itself went to llama.cpp.
    expect(copies()).toBe(before + 1);
    // Two chat turns of ~1500 prompt tokens each on CPU: 75 s on a loaded two-core machine, 120 s once.
  }, 300_000);
});

describe("an audio upload to a vision-only model (the demo model)", () => {
  let app: MediaApp;
  beforeAll(async () => {
    app = await startMediaApp();
  });
  afterAll(() => app?.stop());

  it("reaches the engine as the spectrogram image with its note, never as audio", async () => {
    const up = await uploadFile(app.client, tone(1), "tone.wav", "audio/wav");
    expect(up.status).toBe(201);
    const withAudio = await ask(app.client, "What do you hear?", [{ url: up.body.attachment.url, mediaType: "audio/wav" }]);
    const png = await uploadFile(app.client, fs.readFileSync(await familyImage(64, 64)), "plain.png", "image/png");
    const withImage = await ask(app.client, "What do you hear?", [{ url: png.body.attachment.url, mediaType: "image/png" }]);
    // The demo model's images all cost the same: the audio cost one image plus its note, more than a plain image.
    expect(withAudio.promptTokens).toBeGreaterThan(withImage.promptTokens);
    expect(fs.existsSync(path.join(app.dataDir, "cache", "audio"))).toBe(false);
  });
});
