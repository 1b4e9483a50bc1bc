import type { CatalogModel } from "./catalog";
import { AUDIO_FAMILY_RULES, audioTokens, WHISPER_SAMPLE_RATE, type ChunkMode } from "./families/audio";
import type { LoadedModelInfo } from "./types";

/** How the engine counts an audio clip's tokens on the loaded model. */
export interface AudioCounting {
  /** Tokens the marker of a clip of `samples` samples (16 kHz) becomes. */
  tokens(samples: number): number;
  /** "family": the family's rule, in the chunking this llama.cpp was seen to use; "fixed": the probe's cost for every clip. */
  how: "family" | "fixed";
  mode?: ChunkMode;
}

/** Samples of the probe clip every audio backend encodes at load (audio-input.ts writeProbeAudio). */
const PROBE_SAMPLES = WHISPER_SAMPLE_RATE;

/**
 * The audio family's clip-token rule, in whichever chunking ("padded" or
 * "min-30s", see families/audio.ts) reproduces what llama.cpp counted for
 * the 1 s probe at load; without a family, or when neither agrees, every
 * clip is counted as the probe (and the load says so in the log).
 */
export function checkedAudioCounting(model: CatalogModel, info: LoadedModelInfo): AudioCounting | undefined {
  if (!info.audio) return undefined;
  const measured = info.audioProbeTokens ?? 0;
  const fixed: AudioCounting = { tokens: () => measured, how: "fixed" };
  const family = model.audio?.family;
  const rule = family && AUDIO_FAMILY_RULES.find((r) => r.id === family.id);
  if (!rule) return fixed;
  const clip = model.audio!.clip;
  try {
    for (const mode of ["padded", "min-30s"] as const) {
      if (audioTokens(rule, clip, PROBE_SAMPLES, mode) === measured) return { tokens: (n) => audioTokens(rule, clip, n, mode), how: "family", mode };
    }
    console.warn(`[engine] ${rule.label} audio-token rule says ${audioTokens(rule, clip, PROBE_SAMPLES)} tokens for a 1 s clip, llama.cpp says ${measured}; counting every clip as ${measured} tokens.`);
  } catch (err) {
    console.warn(`[engine] ${rule.label} audio-token rule failed (${(err as Error).message}); counting every clip as ${measured} tokens.`);
  }
  return fixed;
}
