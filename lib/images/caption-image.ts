import "server-only";
import { pathToFileURL } from "node:url";
import { generateText } from "ai";
import { engineModel } from "@/lib/ai/provider";
import type { Engine } from "@/lib/engine/engine";
import { BackgroundModelFailed, BackgroundModelUnloaded } from "@/lib/engine/background-model";
import { runUnlessAnswersWait, waitUntilIdle } from "@/lib/engine/idle-engine";
import { env } from "@/lib/env";
import { CAPTION_PROMPT, firstSentence } from "./caption-text";

/** Tokens the model may spend on a caption. */
const CAPTION_TOKENS = 48;
/** Longest a caption generation may run, in ms. */
const GENERATION_MS = 30_000;
/** The engine must have had no answer running or waiting this long (ms) before a caption starts. */
const QUIET_MS = 1500;

/**
 * Writes a one-sentence caption of a stored image with the chat model, at
 * temperature 0. Where the engine has a background model process (local
 * models; CAPTIONS_ON=process) the caption is written there: that process is
 * frozen while any answer runs, so it never shares the CPU with one, and it
 * simply goes on afterwards. Otherwise see `captionOnEngine`.
 *
 * Resolves with the caption, "" when the model wrote nothing usable, or null
 * when it gave way (or the engine stayed busy for `maxWaitMs`): try again later.
 */
export async function captionImage({ engine, file, mediaType, maxWaitMs }: { engine: Engine; file: string; mediaType: string; maxWaitMs: number }): Promise<string | null> {
  // Unloaded or switched meanwhile: not this image's fault, try again on the next model.
  if (engine.disposed) return null;
  const background = env.CAPTIONS_ON === "process" ? engine.backgroundModel() : null;
  if (!background) return captionOnEngine({ engine, file, mediaType, maxWaitMs });
  const { prompt, images } = await engine.prepareInput([{ role: "user", text: CAPTION_PROMPT, images: [file] }]);
  try {
    return firstSentence(await background.generate({ prompt, images, maxTokens: CAPTION_TOKENS }));
  } catch (err) {
    if (err instanceof BackgroundModelUnloaded) return null;
    // The process failed, not the request: the caller may try this image again (see BackgroundCaptionFailed).
    if (err instanceof BackgroundModelFailed) throw new BackgroundCaptionFailed(err.message);
    throw err;
  }
}

/** The background process failed while (or before) writing this caption; the image itself may be fine. */
export class BackgroundCaptionFailed extends Error {}

/**
 * Writes the caption on the chat engine itself, without a session key (no
 * conversation's cached state is touched). It waits for an idle engine and
 * stops as soon as any answer starts (even in a free slot); an answer that
 * arrives mid-caption still waits for the image encoding or prompt batch
 * under way, which llama.cpp cannot interrupt.
 *
 * Resolves with the caption, "" when the model wrote nothing usable, or null
 * when it gave way (or the engine stayed busy for `maxWaitMs`).
 */
async function captionOnEngine({ engine, file, mediaType, maxWaitMs }: { engine: Engine; file: string; mediaType: string; maxWaitMs: number }): Promise<string | null> {
  if (!(await waitUntilIdle(engine, { quietMs: QUIET_MS, maxWaitMs }))) return null;
  const text = await runUnlessAnswersWait(
    engine,
    async (signal) =>
      (
        await generateText({
          model: engineModel(engine),
          messages: [{ role: "user", content: [{ type: "file", data: pathToFileURL(file), mediaType }, { type: "text", text: CAPTION_PROMPT }] }],
          maxOutputTokens: CAPTION_TOKENS,
          temperature: 0,
          maxRetries: 0,
          abortSignal: signal,
        })
      ).text,
    // Captions are never worth slowing an answer down: stop within 10 ms of one starting
    // (status() is an in-memory read; an answer of the tiny model takes ~200 ms in all).
    { timeoutMs: GENERATION_MS, giveWayTo: "any", pollMs: 10 },
  );
  return text === null ? null : firstSentence(text);
}
