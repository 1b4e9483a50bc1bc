import type { ReplicaFiles } from "./types";

/** Not written yet. */
export function writeReplica(_dir: string): ReplicaFiles {
  throw new Error("LLaVA-1.6 replica not written yet");
}
