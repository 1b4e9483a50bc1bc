import type { ReplicaFiles } from "./types";

/** Not written yet. */
export function writeReplica(_dir: string): ReplicaFiles {
  throw new Error("MiniCPM-V 2.6 replica not written yet");
}
