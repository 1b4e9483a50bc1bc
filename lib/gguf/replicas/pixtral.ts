import type { ReplicaFiles } from "./types";

/** Not written yet. */
export function writeReplica(_dir: string): ReplicaFiles {
  throw new Error("Pixtral replica not written yet");
}
