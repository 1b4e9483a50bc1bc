import { describe, expect, it } from "vitest";
import { audioTokens, qwen25omni, ultravox, whisperChunks } from "@/lib/engine/families/audio";
import { mediaPromptParts, type MediaForPrompt } from "@/lib/media/prompt-parts";

// What a clip costs on each llama.cpp build (measured on the replicas: see
// tests/integration/media-native-audio.test.ts), and what the prompt
// builder gives a model that hears versus one that only sees.

describe("Whisper chunks", () => {
  it.each([
    [16_000, 1, 2],
    [479_839, 1, 2],
    [479_840, 2, 2],
    [944_000, 2, 2],
    [959_840, 3, 3],
    [976_000, 3, 3],
  ])("%i samples: %i chunk(s) on llama-server, %i in-process", (samples, padded, min30) => {
    expect(whisperChunks(samples, "padded")).toBe(padded);
    expect(whisperChunks(samples, "min-30s")).toBe(min30);
  });

  it("prices a clip by its family's projector", () => {
    expect(audioTokens(ultravox, { "clip.audio.projector.stack_factor": 4 }, 16_000)).toBe(375);
    // The real models' factor 8: 3000 / 8 = 375 stacked rows, halved to 187.
    expect(audioTokens(ultravox, { "clip.audio.projector.stack_factor": 8 }, 16_000)).toBe(187);
    expect(audioTokens(qwen25omni, {}, 35 * 16_000)).toBe(2 + 2 * 750);
    expect(audioTokens(qwen25omni, {}, 16_000, "min-30s")).toBe(2 + 2 * 750);
  });
});

describe("an audio upload in the prompt", () => {
  const media: MediaForPrompt = {
    mediaType: "audio/wav",
    info: { kind: "audio", format: "wav", durationSeconds: 3, sampleRate: 16_000, channels: 1, note: "The image is the audio's mel spectrogram." },
    derived: [{ storageKey: "ab/cd/spectrogram.png", label: "Spectrogram", page: null }],
    maxPages: 4,
  };

  it("is its spectrogram with the note for a model that only sees", () => {
    expect(mediaPromptParts(media, "What is it?")).toEqual({ keys: ["ab/cd/spectrogram.png"], text: "[Audio, 0:03 long. The image is the audio's mel spectrogram.]" });
  });

  it("is the clip itself for a model that hears", () => {
    expect(mediaPromptParts({ ...media, audioFile: "ab/cd/clip.wav" }, "What is it?")).toEqual({ keys: ["ab/cd/clip.wav"], text: "[Audio, 0:03 long: the clip above.]" });
  });
});
