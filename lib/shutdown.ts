import "server-only";
import { stopAllAnswers } from "@/lib/chat/answers-in-flight";
import { unloadEngine } from "@/lib/engine/get-engine";
import { stopInstanceLease } from "@/lib/instance/lease";

/**
 * The app's part of a graceful stop (SIGTERM/SIGINT, called by
 * scripts/server.mjs once it has stopped accepting connections): every answer
 * being written is stopped and saved as `stopped` with its text so far, its
 * client gets a final error part, then this instance's lease is removed (so
 * other instances know it is gone at once) and the model is unloaded (a
 * supervised llama-server is stopped). Bounded by `timeoutMs` (milliseconds) for the
 * answers; the server enforces the overall deadline.
 */
export async function shutdown({ timeoutMs }: { timeoutMs: number }): Promise<void> {
  const stopped = await stopAllAnswers({ timeoutMs });
  if (stopped) console.log(`[chat] stopped ${stopped} answer(s) for shutdown; their text so far is saved`);
  await stopInstanceLease().catch((err) => console.error("[instance] could not remove the lease:", err));
  await unloadEngine();
}
