import type { ReplicaFiles } from "./types";

/** Not written yet. */
export function writeReplica(_dir: string): ReplicaFiles {
  throw new Error("Qwen2.5-VL replica not written yet");
}
