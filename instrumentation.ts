// Runs once when the server starts: takes this instance's lease (renewed
// every few seconds) and closes answers that instances no longer alive (a
// previous process, a killed peer) left half-written, now and at each
// renewal; removes uploads that were never sent (older than a day; then
// hourly), starts the background image indexer (CLIP embeddings, captions;
// it resumes the queue a previous process left), starts loading the model
// so the first chat does not wait for the weights (the UI shows progress
// meanwhile), and hands scripts/server.mjs the app's shutdown step
// (lib/shutdown.ts).
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  // Measured from the start, so /api/health can say how long requests waited for the event loop.
  const { eventLoopDelay } = await import("@/lib/health/event-loop-delay");
  eventLoopDelay();
  const { shutdown } = await import("@/lib/shutdown");
  (globalThis as { __appShutdown?: typeof shutdown }).__appShutdown = shutdown;
  // This instance's lease; answers that instances no longer alive were writing are closed now and then every few seconds.
  const { startInstanceLease } = await import("@/lib/instance/lease");
  await startInstanceLease();
  const { deleteUnsentAttachments, storageKeysInUse } = await import("@/lib/db/attachments");
  const { removeBlobs } = await import("@/lib/storage/blob-store");
  const { removeStaleImportStaging } = await import("@/lib/db/conversation-archive");
  const sweep = async () => {
    // Imports cut by a killed server: their rows wait, invisible, under a stand-in account.
    const cut = await removeStaleImportStaging({ olderThan: new Date(Date.now() - 3600 * 1000) });
    if (cut) console.log(`[import] removed the rows of ${cut} import(s) that never finished`);
    const orphaned = await deleteUnsentAttachments({ olderThan: new Date(Date.now() - 24 * 3600 * 1000) });
    await removeBlobs(orphaned, { stillUsed: storageKeysInUse });
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
