import type { AudioFamilyId } from "@/lib/engine/families/audio";
import type { FamilyId } from "@/lib/engine/families/types";
import { writeReplica as gemma3 } from "./gemma3";
import { writeReplica as llava16 } from "./llava-1.6";
import { writeReplica as minicpmv } from "./minicpm-v";
import { writeReplica as pixtral } from "./pixtral";
import { writeReplica as qwen25omni } from "./qwen2.5-omni";
import { writeReplica as qwen25vl } from "./qwen2.5-vl";
import { writeReplica as smolvlm } from "./smolvlm";
import { writeReplica as ultravox } from "./ultravox";
import type { ReplicaFiles } from "./types";

/**
 * Tiny random-weight replicas of real families' GGUF layouts (tensor names,
 * metadata keys, projector types, tokenizers, chat templates), written at
 * test time into a folder of the caller's choosing; never committed. Same
 * folder → same files (each writer skips files already there).
 */
export const REPLICAS: Partial<Record<FamilyId, (dir: string) => ReplicaFiles>> = {
  "llava-1.6": llava16,
  "qwen2.5-vl": qwen25vl,
  gemma3,
  smolvlm,
  "minicpm-v": minicpmv,
  pixtral,
};

/**
 * The audio families' replicas (libmtmd's audio projectors), kept apart
 * from the image families': Ultravox's projector hears only, Qwen2.5-Omni's
 * sees and hears.
 */
export const AUDIO_REPLICAS: Record<AudioFamilyId, (dir: string) => ReplicaFiles> = {
  ultravox,
  "qwen2.5-omni": qwen25omni,
};

export type { ReplicaFiles };
