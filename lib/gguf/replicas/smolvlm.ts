import type { ReplicaFiles } from "./types";

/** Not written yet. */
export function writeReplica(_dir: string): ReplicaFiles {
  throw new Error("SmolVLM replica not written yet");
}
