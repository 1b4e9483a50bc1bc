import "server-only";
import { pathToFileURL } from "node:url";
import { generateText } from "ai";
import { engineModel } from "@/lib/ai/provider";
import type { Engine } from "@/lib/engine/engine";
import { runUnlessAnswersWait, waitUntilIdle } from "@/lib/engine/idle-engine";
import { CAPTION_PROMPT, firstSentence } from "./caption-text";

/** Tokens the model may spend on a caption. */
const CAPTION_TOKENS = 48;
/** Longest a caption generation may run, in ms. */
const GENERATION_MS = 30_000;
/** The engine must have had no answer running or waiting this long (ms) before a caption starts. */
const QUIET_MS = 1500;

/**
 * Writes a one-sentence caption of a stored image with the chat model,
 * without a session key (no conversation's cached state is touched), at
 * temperature 0. It waits for an idle engine and stops as soon as any
 * answer starts (even in a free slot), so it never shares the CPU with one.
 *
 * Resolves with the caption, "" when the model wrote nothing usable, or null
 * when it gave way (or the engine stayed busy for `maxWaitMs`): try again later.
 */
export async function captionImage({ engine, file, mediaType, maxWaitMs }: { engine: Engine; file: string; mediaType: string; maxWaitMs: number }): Promise<string | null> {
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
