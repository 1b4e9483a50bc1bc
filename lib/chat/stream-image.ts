import "server-only";
import { createUIMessageStreamResponse } from "ai";
import { assertConversationOwnedOrThrow } from "@/lib/db/conversations";
import { beginTurnOrThrow, flushAnswer, saveImageAnswer, setDefaultTitle, type TurnKind } from "@/lib/db/messages";
import { storageKeysInUse } from "@/lib/db/attachments";
import { AppError } from "@/lib/errors";
import { currentGenerator, generateForUser, IMAGE_LIMITS } from "@/lib/imagegen/service";
import type { StepEvent } from "@/lib/imagegen/types";
import { instanceId } from "@/lib/instance/lease";
import { removeBlobs } from "@/lib/storage/blob-store";
import { SERVER_STOP_MESSAGES, trackAnswer } from "./answers-in-flight";
import { startLiveAnswer } from "./live-answers";
import type { GenerationPart, MessagePart } from "./message-parts";
import { titleFrom } from "./title";
import type { ChatAnswerMetadata, ImageProgressData } from "./ui-message";

/** How often the turn's row is touched while the image is made (milliseconds), as answers are (stream-chat.ts's FLUSH_MS): a Stop pressed on another instance, or a delete, is read within it. */
const FLUSH_MS = 1000;

/** Fewest milliseconds between two previews sent: each is a whole PNG, and a step can take a few milliseconds. The step count is sent every step. */
const PREVIEW_EVERY_MS = 150;

/** What a user who stopped a generation is told: nothing of it was kept. */
export const IMAGE_STOPPED_NOTE = "the image was not finished, and nothing of it was saved.";

/** What a generation turn asks for (checked against the generator's own sizes and steps). */
export interface ImageRequest {
  prompt: string;
  /** "WxH"; default the generator's first (smallest) size. */
  size?: string;
  /** Sampling steps; default the generator's. */
  steps?: number;
  /** The seed to draw with (to make an image again); default a random one. */
  seed?: number;
  /** A seed the new image must not have (Regenerate: the version it replaces), so it differs. */
  notSeed?: number;
}

/**
 * One generation turn: the user's message is the prompt, the answer is the
 * image. It goes through the same turn machinery as answers (stream-chat.ts):
 * the rows are written by beginTurnOrThrow (so branches, versions, delete and
 * ownership work the same), the turn is tracked (Stop, delete and shutdown
 * stop it), and its stream is a live answer any page can join after a reload.
 * The stream carries the progress as a `data-image-progress` part (step N of
 * M, with a preview where the generator has one) and ends with the image as a
 * `file` part. The image is stored in the user's library by the generator's
 * service (store: true) and saved with the message in one transaction; a
 * stopped or failed turn keeps its request (the `generation` part, so that
 * Regenerate draws again) and no image at all.
 */
export async function streamImage({
  userId,
  conversationId,
  turn,
  request,
  signal,
}: {
  userId: string;
  conversationId: string;
  /** A new question, a new version of one, or another image for the same one (never Continue). */
  turn: Exclude<TurnKind, { kind: "continue" }>;
  request: ImageRequest;
  /** The request's: a client that left before the rows were written gets nothing written. */
  signal: AbortSignal;
}): Promise<Response> {
  const prompt = request.prompt.trim();
  if (!prompt) throw new AppError("bad_request:chat", "Say what to draw: the message is the image's description.");
  // The service checks its caps too, but only once the turn's rows exist: refused here, nothing is saved.
  if (prompt.length > IMAGE_LIMITS.promptChars) {
    throw new AppError("bad_request:chat", `An image's description is at most ${IMAGE_LIMITS.promptChars} characters (this one has ${prompt.length}).`);
  }
  // Ownership first: another user's conversation is "not found", whoever generates.
  await assertConversationOwnedOrThrow({ id: conversationId, userId });
  const generator = await currentGenerator();
  if (!generator) throw new AppError("unavailable:imagegen", "No image generator is available on this server.", { retryAfterSeconds: 30 });
  const { info } = generator;
  const size = request.size ?? info.sizes[0]!;
  if (!info.sizes.includes(size)) throw new AppError("bad_request:chat", `${info.label} makes images of ${info.sizes.join(", ")} pixels, not ${size}.`);
  const steps = request.steps ?? info.defaultSteps;
  const maxSteps = Math.min(info.maxSteps, IMAGE_LIMITS.maxSteps);
  if (steps > maxSteps) throw new AppError("bad_request:chat", `${info.label} takes at most ${maxSteps} steps (asked for ${steps}).`);
  const [width, height] = size.split("x").map(Number) as [number, number];
  // Asked for, or chosen here rather than by the generator, so that Regenerate is sure to get another one.
  let seed = request.seed ?? Math.floor(Math.random() * 2 ** 31);
  if (seed === request.notSeed) seed = (seed + 1) % 2 ** 31;
  const generation: GenerationPart = { type: "generation", prompt, width, height, steps, generator: info.id };

  if (signal.aborted) throw new AppError("bad_request:chat", "The request was cancelled.");
  // Tracked before the rows exist: a delete that lands meanwhile still stops this turn.
  const answer = trackAnswer({ conversationId, userId });
  const startedAt = new Date();
  let ids: Awaited<ReturnType<typeof beginTurnOrThrow>>;
  try {
    ids = await beginTurnOrThrow({ conversationId, userId, turn, model: info.id, instanceId: instanceId(), answerParts: [generation] });
  } catch (err) {
    answer.end();
    throw err;
  }
  const { userMessageId, assistantMessageId } = ids;
  answer.setMessageId(assistantMessageId);
  const abortSignal = answer.signal;
  const live = startLiveAnswer({ conversationId, userId, messageId: assistantMessageId, stop: () => answer.stop("user") });
  const metadata: ChatAnswerMetadata = { conversationId, assistantMessageId, userMessageId, model: info.id };
  live.write({ type: "start", messageId: assistantMessageId, messageMetadata: metadata });
  live.write({ type: "data-generation", id: "generation", data: dataOf(generation) });

  let settled = false;
  const flusher = setInterval(() => {
    if (settled) return;
    flushAnswer({ id: assistantMessageId, text: "", parts: [generation] })
      .then((result) => {
        if (result === "stop_requested") answer.stop("user");
        else if (result !== "saved" && !settled) answer.stop(result === "gone" ? "deleted" : "closed");
      })
      .catch(() => {});
  }, FLUSH_MS);

  // Previews are whole PNGs: at most one every PREVIEW_EVERY_MS (and the last step's); the count goes out every step.
  let lastPreviewAt = 0;
  let preview: string | undefined;
  const onStep = (e: StepEvent) => {
    if (settled || abortSignal.aborted) return;
    const now = Date.now();
    if (e.preview && (now - lastPreviewAt >= PREVIEW_EVERY_MS || e.step === e.steps)) {
      lastPreviewAt = now;
      preview = `data:image/png;base64,${Buffer.from(e.preview).toString("base64")}`;
    }
    // One part, replaced at every step (the page merges data parts by id; a late reader gets only the latest).
    const data: ImageProgressData = { step: e.step, steps: e.steps, ...(preview ? { preview } : {}) };
    live.write({ type: "data-image-progress", id: "progress", data });
  };

  const run = async () => {
    let image: { attachmentId?: string; seed?: number } | undefined;
    let failed: string | undefined;
    try {
      const result = await generateForUser({ userId, prompt, n: 1, size, steps, seed, store: true, signal: abortSignal, onStep });
      image = result.images[0];
      if (!image?.attachmentId) failed = "The generator made no image.";
    } catch (err) {
      if (!abortSignal.aborted) failed = err instanceof AppError ? err.message : "The image could not be generated.";
      if (!(err instanceof AppError) && !abortSignal.aborted) console.error("[chat] image generation failed:", err);
    }
    settled = true;
    clearInterval(flusher);
    // A Stop that came after the image was made is too late to stop anything: the image is kept, whole.
    const stop = image?.attachmentId && !failed ? undefined : answer.stopReason();
    const serverStop = stop && stop !== "user" ? stop : undefined;
    const done = image?.attachmentId && !failed ? { ...generation, seed: image.seed } : null;
    const parts: MessagePart[] = done ? [done, { type: "image", attachmentId: image!.attachmentId! }] : [generation];
    const status = done ? "complete" : stop ? "stopped" : "error";
    const error = done ? undefined : serverStop ? SERVER_STOP_MESSAGES[serverStop] : stop ? IMAGE_STOPPED_NOTE : failed;
    try {
      const { saved, unusedKeys } = await saveImageAnswer({ id: assistantMessageId, userId, parts, status, error, createdSince: startedAt });
      if (unusedKeys.length) await removeBlobs(unusedKeys, { stillUsed: storageKeysInUse });
      // Until the user renames it, a conversation that starts with an image is named after its prompt.
      if (saved && done && turn.kind === "ask") await setDefaultTitle({ conversationId, title: titleFrom([{ type: "text", text: prompt }], "") });
      if (!saved && done) {
        // Deleted (or closed by another instance) while the image was made: it went with its message.
        live.write({ type: "error", errorText: SERVER_STOP_MESSAGES[serverStop ?? "deleted"] });
        return;
      }
    } catch (err) {
      console.error("[chat] the generated image could not be saved:", err);
    } finally {
      answer.end();
    }
    if (done) {
      live.write({ type: "data-generation", id: "generation", data: dataOf(done) });
      live.write({ type: "file", url: `/api/uploads/${image!.attachmentId}`, mediaType: "image/png" });
      live.write({ type: "finish", messageMetadata: { ...metadata, status: "complete" } satisfies ChatAnswerMetadata });
    } else if (serverStop) {
      live.write({ type: "error", errorText: SERVER_STOP_MESSAGES[serverStop] });
    } else if (stop) {
      live.write({ type: "abort" });
    } else {
      live.write({ type: "error", errorText: error ?? "The image could not be generated." });
      live.write({ type: "finish", messageMetadata: { ...metadata, status: "error", error } satisfies ChatAnswerMetadata });
    }
  };
  void run().finally(() => live.end());
  return createUIMessageStreamResponse({ stream: live.read(), headers: { "cache-control": "no-cache, no-transform" } });
}

const dataOf = ({ prompt, width, height, steps, seed, generator }: GenerationPart) => ({ prompt, width, height, steps, seed, generator });
