import { requireClipNumber, type ClipMeta } from "./types";

/**
 * Audio-model families (libmtmd's audio projectors): how a family is
 * recognised from its mmproj and what one clip costs in context tokens,
 * computed the way libmtmd preprocesses it. Kept apart from the image
 * families (an audio-only projector has no image rule; Qwen2.5-Omni's
 * projector is both, its image side counted by the Qwen2.5-VL rule).
 *
 * Every family here uses the Whisper front end (mtmd-audio.cpp,
 * `mtmd_audio_preprocessor_whisper`): the clip is decoded to 16 kHz mono,
 * 30 s of silence are appended, a log-mel spectrogram is taken with a
 * 400-sample window and a 160-sample hop, and it is cut into chunks of
 * 3000 frames (30 s), the last incomplete chunk dropped. Each chunk is
 * encoded apart and costs the same number of embeddings.
 */

export type AudioFamilyId = "ultravox" | "qwen2.5-omni";

export interface AudioFamilyRule {
  id: AudioFamilyId;
  /** Shown on the model badge. */
  label: string;
  /** `clip.projector_type` (or `clip.audio.projector_type`) values. */
  projectorTypes: readonly string[];
  /** Embeddings one 3000-frame mel chunk becomes. */
  tokensPerChunk(clip: ClipMeta): number;
  /** Text tokens libmtmd puts around each clip (begin/end markers). */
  markers: number;
}

export const WHISPER_SAMPLE_RATE = 16_000;
const HOP = 160;
const CHUNK_FRAMES = 3000;
/** 30 s of padding, in samples. */
const PAD_SAMPLES = 30 * WHISPER_SAMPLE_RATE;
/** Fewest samples the preprocessor takes (half a 400-sample FFT window plus one); shorter clips are padded. */
const MIN_SAMPLES = 201;

/**
 * How a llama.cpp build counts the chunks of a clip. "padded": the whole
 * clip plus 30 s of silence (llama-server's llama.cpp: a clip under 29.99 s
 * is one chunk). "min-30s": the clip is first padded to at least 30 s
 * (the in-process binding's llama.cpp: any clip under 59.99 s is two
 * chunks). Which one a backend uses is measured at load (a 1 s probe).
 */
export type ChunkMode = "padded" | "min-30s";

/** The mel chunks libmtmd encodes for a clip of `samples` samples at 16 kHz. */
export function whisperChunks(samples: number, mode: ChunkMode = "padded"): number {
  const n = Math.max(samples, MIN_SAMPLES, mode === "min-30s" ? PAD_SAMPLES : 0);
  const frames = Math.floor((n + PAD_SAMPLES) / HOP) + 1;
  return Math.floor(frames / CHUNK_FRAMES);
}

/** Tokens a clip of `samples` samples (16 kHz) costs with this family's projector. */
export function audioTokens(rule: AudioFamilyRule, clip: ClipMeta, samples: number, mode: ChunkMode = "padded"): number {
  return rule.markers + whisperChunks(samples, mode) * rule.tokensPerChunk(clip);
}

/**
 * Ultravox: the Whisper encoder halves the 3000 frames to 1500, the
 * projector stacks `stack_factor` consecutive frames into one embedding
 * (clip.cpp: CLIP_ALIGN(3000, k) / k / 2), no markers.
 */
export const ultravox: AudioFamilyRule = {
  id: "ultravox",
  label: "Ultravox",
  projectorTypes: ["ultravox"],
  markers: 0,
  tokensPerChunk(clip) {
    const k = requireClipNumber(clip, "clip.audio.projector.stack_factor");
    return Math.floor(Math.ceil(CHUNK_FRAMES / k) / 2);
  },
};

/**
 * Qwen2.5-Omni (and Qwen2-Audio, same encoder): 3000 frames → 1500 after
 * the stride-2 convolution → 750 after the encoder's average pool, wrapped
 * once per clip in `<|audio_bos|>` … `<|audio_eos|>`.
 */
export const qwen25omni: AudioFamilyRule = {
  id: "qwen2.5-omni",
  label: "Qwen2.5-Omni",
  projectorTypes: ["qwen2.5o", "qwen2a"],
  markers: 2,
  tokensPerChunk() {
    return CHUNK_FRAMES / 2 / 2;
  },
};

export const AUDIO_FAMILY_RULES: readonly AudioFamilyRule[] = [ultravox, qwen25omni];

/** The audio family of an mmproj's audio projector type, if we know it. */
export function audioFamilyOfProjector(projectorType: string): AudioFamilyRule | undefined {
  return AUDIO_FAMILY_RULES.find((r) => r.projectorTypes.includes(projectorType));
}

/** The audio projector type of an mmproj with an audio encoder (`clip.audio.projector_type` wins over the shared key). */
export function audioProjectorType(clip: ClipMeta): string | undefined {
  const t = clip["clip.audio.projector_type"] ?? clip["clip.projector_type"];
  return typeof t === "string" ? t : undefined;
}

