// Runs once when the server starts: closes answers a previous process left
// half-written, removes uploads that were never sent (older than a day; then
// hourly), starts the background image indexer (CLIP embeddings, captions;
// it resumes the queue a previous process left), starts loading the model
// so the first chat does not wait for the weights (the UI shows progress
// meanwhile), and hands scripts/server.mjs the app's shutdown step
// (lib/shutdown.ts).
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { shutdown } = await import("@/lib/shutdown");
  (globalThis as { __appShutdown?: typeof shutdown }).__appShutdown = shutdown;
  const { closeOrphanedAnswers } = await import("@/lib/db/messages");
  const closed = await closeOrphanedAnswers();
  if (closed) console.log(`[chat] marked ${closed} answer(s) interrupted by the last shutdown as stopped`);
  const { deleteUnsentAttachments } = await import("@/lib/db/attachments");
  const { removeBlobs } = await import("@/lib/storage/blob-store");
  const sweep = async () => {
    const orphaned = await deleteUnsentAttachments({ olderThan: new Date(Date.now() - 24 * 3600 * 1000) });
    await removeBlobs(orphaned);
    if (orphaned.length) console.log(`[uploads] removed ${orphaned.length} image(s) uploaded but never sent`);
  };
  await sweep();
  // Hourly too: images sent through the API without `store` are never linked to a message.
  setInterval(() => void sweep().catch((err) => console.error("[uploads] cleanup failed:", err)), 3600 * 1000).unref();
  const { env } = await import("@/lib/env");
  if (env.IMAGE_INDEXER) {
    const { startImageIndexer } = await import("@/lib/images/image-indexer");
    startImageIndexer();
  }
  if (process.env.ENGINE_PRELOAD !== "false") {
    const { getEngine } = await import("@/lib/engine/get-engine");
    getEngine().catch(() => {
      /* reported by engineHealth() and the next request */
    });
  }
}
