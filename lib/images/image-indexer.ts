import "server-only";
import fs from "node:fs/promises";
import {
  ensureImageIndexEntries,
  markImageIndexFailed,
  nextImagesToCaption,
  nextPendingImages,
  refreshStaleImageText,
  saveImageCaption,
  saveImageEmbedding,
} from "@/lib/db/image-index";
import { loadedEngine } from "@/lib/engine/get-engine";
import { waitUntilIdle } from "@/lib/engine/idle-engine";
import { env } from "@/lib/env";
import { blobPath } from "@/lib/storage/blob-store";
import { idlePause } from "./index-wake";
import { BackgroundCaptionFailed, captionImage } from "./caption-image";
import { getClipModel } from "./clip-model";
import { embeddingsChanged } from "./user-embeddings";
import { vectorToBytes } from "./vector-search";

/** Images embedded per database round trip. */
const BATCH = 8;
/**
 * The pause between looks for work while there is none, in ms: from IDLE_MS,
 * doubling after each look that finds nothing, up to IDLE_MAX_MS. A new image
 * stored in this process ends the pause (lib/images/index-wake.ts). At a
 * fixed 500 ms an idle server spent about 2 % of a core on these queries.
 */
const IDLE_MS = 500;
const IDLE_MAX_MS = 4_000;
/** A caption on the engine waits at most this long (ms) for it to be idle before the loop looks for new images again. */
const CAPTION_WAIT_MS = 5_000;
/**
 * CLIP runs on this process's CPU: a batch of images waits for the answers
 * being written, at most this long (ms) in all, so that a server that is
 * never idle still indexes its uploads.
 */
const EMBED_WAIT_MS = 30_000;
/** Times the background process may fail while captioning one image before that image is left without a caption. */
const CAPTION_TRIES = 3;

const globalForIndexer = globalThis as { __imageIndexer?: Promise<void> };

/**
 * Starts the process's background image indexer once. The work queue is
 * the ImageIndex table (pending rows), so a restart resumes where the last
 * process stopped. Each round: embed pending images with CLIP (each one after
 * the answers being written), rebuild the full-text rows whose chat text
 * changed, and when neither had work, start
 * captioning one image if no caption is under way. Captions run beside the
 * rounds, not in them: one can wait a long time (its process is frozen
 * while answers run), and new uploads must still be embedded meanwhile.
 */
export function startImageIndexer(): void {
  globalForIndexer.__imageIndexer ??= runForever();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

async function runForever(): Promise<void> {
  const clip = await getClipModel().catch((err: Error) => {
    console.error(`[images] indexing is off: the CLIP model in ${env.CLIP_MODEL_DIR} did not load: ${err.message}`);
    return null;
  });
  if (!clip) return;
  await ensureImageIndexEntries({ model: clip.id });
  console.log(`[images] indexer started (CLIP ${clip.id}, ${clip.dim} dimensions)`);
  let captioning: Promise<CaptionRound> | null = null;
  let idleMs = IDLE_MS;
  for (;;) {
    try {
      const embedded = await embedPending(clip.id);
      const rebuilt = await refreshStaleImageText({ limit: 50 });
      if (embedded || rebuilt) {
        idleMs = IDLE_MS;
        continue;
      }
      // Embedding comes first (it makes images searchable); then one caption at a time, beside the rounds.
      captioning ??= captionNext()
        .catch((err: unknown): CaptionRound => {
          console.error("[images] captioning failed:", err);
          return "not-now";
        })
        .then(async (round) => {
          // Nothing to caption, or it gave way: look again after a pause (the short one after giving way).
          if (round !== "wrote") await idlePause(round === "nothing" ? idleMs : IDLE_MS);
          captioning = null;
          return round;
        });
      const round = await Promise.race([captioning, idlePause(idleMs).then((woken) => (woken ? "woken" : "slept"))]);
      idleMs = round === "nothing" || round === "slept" ? Math.min(IDLE_MAX_MS, idleMs * 2) : IDLE_MS;
    } catch (err) {
      console.error("[images] indexing round failed:", err);
      await sleep(5_000);
    }
  }
}

/** Background-process failures per image (in memory: a restart gives every image its tries again). */
const processFailures = new Map<string, number>();

async function embedPending(model: string): Promise<number> {
  const clip = await getClipModel();
  const batch = await nextPendingImages({ limit: BATCH });
  // One wait per batch at most: under a steady stream of answers the batch goes on after it.
  const waitUntil = Date.now() + EMBED_WAIT_MS;
  for (const image of batch) {
    await answersFinished(waitUntil);
    try {
      const vector = await clip.embedImage(await fs.readFile(blobPath(image.storageKey)));
      if (await saveImageEmbedding({ attachmentId: image.attachmentId, embedding: vectorToBytes(vector), model })) embeddingsChanged(image.userId);
    } catch (err) {
      console.warn(`[images] could not index ${image.attachmentId}: ${(err as Error).message}`);
      await markImageIndexFailed({ attachmentId: image.attachmentId, error: (err as Error).message });
    }
    if (env.IMAGE_INDEX_PAUSE_MS) await sleep(env.IMAGE_INDEX_PAUSE_MS);
  }
  return batch.length;
}

/**
 * Waits until no answer is being written on this machine's CPU, or until
 * `deadline`. A remote engine's answers, and those of a model offloaded to
 * a GPU, do not compete with CLIP for the CPU.
 */
async function answersFinished(deadline: number): Promise<void> {
  const engine = loadedEngine();
  if (!engine || engine.kind === "remote" || engine.info.gpuLayers > 0) return;
  const maxWaitMs = deadline - Date.now();
  if (maxWaitMs > 0) await waitUntilIdle(engine, { quietMs: 0, maxWaitMs });
}

/** What a caption attempt did: wrote one (or gave up on an image), found nothing to caption, or could not now. */
type CaptionRound = "wrote" | "nothing" | "not-now";

/** Captions one image if captions are on, the model is loaded and idle. */
async function captionNext(): Promise<CaptionRound> {
  const engine = env.IMAGE_CAPTIONS ? loadedEngine() : null;
  if (!engine?.info.vision) return "nothing";
  const [image] = await nextImagesToCaption({ limit: 1 });
  if (!image) return "nothing";
  const file = blobPath(image.storageKey);
  let caption: string | null;
  try {
    caption = await captionImage({ engine, file, mediaType: file.endsWith(".jpg") ? "image/jpeg" : "image/png", maxWaitMs: CAPTION_WAIT_MS });
  } catch (err) {
    const tries = (processFailures.get(image.attachmentId) ?? 0) + 1;
    if (err instanceof BackgroundCaptionFailed && tries < CAPTION_TRIES) {
      // The process died or is resting: most likely not this image's fault; it gets another try later.
      processFailures.set(image.attachmentId, tries);
      return "not-now";
    }
    // The image's own failure, or the process died on it every time: leave it without a caption.
    console.warn(`[images] no caption for ${image.attachmentId}: ${(err as Error).message}`);
    caption = "";
  }
  processFailures.delete(image.attachmentId);
  if (caption === null) return "not-now";
  await saveImageCaption({ attachmentId: image.attachmentId, caption: caption || null });
  return "wrote";
}
