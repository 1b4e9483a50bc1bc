import "server-only";
import { env } from "@/lib/env";
import { loadClipModel, type ClipModel } from "./load-clip-model";

export type { ClipModel };

const globalForClip = globalThis as { __clipModel?: Promise<ClipModel> };

/** The process's CLIP model from CLIP_MODEL_DIR (loaded on first use; a failed load is retried on the next call). */
export function getClipModel(): Promise<ClipModel> {
  globalForClip.__clipModel ??= loadClipModel(env.CLIP_MODEL_DIR).catch((err) => {
    globalForClip.__clipModel = undefined;
    throw err;
  });
  return globalForClip.__clipModel;
}
