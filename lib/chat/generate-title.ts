import "server-only";
import { generateText } from "ai";
import { engineModel } from "@/lib/ai/provider";
import { setGeneratedTitle } from "@/lib/db/conversations";
import type { Engine } from "@/lib/engine/engine";
import { runUnlessAnswersWait, waitUntilIdle } from "@/lib/engine/idle-engine";
import type { MessagePart } from "./message-parts";
import { cleanGeneratedTitle } from "./title";

/** Tokens the model may spend on a title. */
const TITLE_TOKENS = 16;
/** Characters of the question and of the answer the model reads. */
const EXCERPT_CHARS = 600;
/** A title still waiting for an idle engine after this long (ms) is dropped: the first-question title stays. */
const IDLE_WAIT_MS = 5 * 60_000;
/** Longest a title generation may run, in ms. */
const GENERATION_MS = 30_000;
/** Titles given up for answers that came in before one was written. */
const MAX_TRIES = 3;

const INSTRUCTION =
  "Write a short title (at most six words) for the conversation below. Reply with the title only, no quotes, no punctuation at the end.";

/** Titles are written one at a time, so a burst of new chats never takes more than one slot. */
let queue: Promise<unknown> = Promise.resolve();

/**
 * Names a conversation with the chat model after its first exchange, in the
 * background, never delaying an answer: it starts only once the engine has
 * had no answer running or waiting for `quietMs`, and stops (to try again
 * later) as soon as an answer waits for a slot. It writes at most 16 tokens
 * at temperature 0 without a session key, so no conversation's cached state
 * is touched. The cleaned title replaces the first-question title unless it
 * is empty or the user renamed the conversation meanwhile.
 *
 * Never rejects; resolves with the title saved, or null when none was.
 */
export function generateTitle({
  engine,
  conversationId,
  question,
  answer,
  quietMs = 1000,
}: {
  engine: Engine;
  conversationId: string;
  /** The first question's parts (only the text is shown to the model). */
  question: MessagePart[];
  /** The first answer's text. */
  answer: string;
  /**
   * How long the engine must have been idle before the title starts, in ms.
   * Default 1000: a follow-up sent right after an answer finds its slot free.
   */
  quietMs?: number;
}): Promise<string | null> {
  const run = queue.then(async () => {
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      if (!(await waitUntilIdle(engine, { quietMs, maxWaitMs: IDLE_WAIT_MS }))) return null;
      const title = await runUnlessAnswersWait(engine, (signal) => writeTitle(engine, question, answer, signal), { timeoutMs: GENERATION_MS });
      if (title === null) continue;
      if (!title) {
        console.log(`[title] ${conversationId} keeps its first-question title: the model's reply was not a title`);
        return null;
      }
      return (await setGeneratedTitle({ id: conversationId, title })) ? title : null;
    }
    return null;
  });
  queue = run.catch(() => {});
  return run.catch((err: unknown) => {
    console.warn(`[title] no title for ${conversationId}: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  });
}

async function writeTitle(engine: Engine, question: MessagePart[], answer: string, signal: AbortSignal): Promise<string> {
  const asked = question.flatMap((p) => (p.type === "text" ? [p.text] : [])).join(" ").trim();
  const images = question.filter((p) => p.type === "image").length;
  const questionText = [images ? `(${images === 1 ? "an image" : `${images} images`})` : "", asked.slice(0, EXCERPT_CHARS)].filter(Boolean).join(" ");
  const { text, finishReason } = await generateText({
    model: engineModel(engine),
    messages: [
      {
        role: "user",
        content: `${INSTRUCTION}\n\nQuestion: ${questionText}\nAnswer: ${answer.trim().slice(0, EXCERPT_CHARS)}`,
      },
    ],
    maxOutputTokens: TITLE_TOKENS,
    temperature: 0,
    maxRetries: 0,
    abortSignal: signal,
  });
  // Cut off by the token cap within its first line: that line's last word may be unfinished.
  const cutOff = finishReason === "length" && !text.trim().includes("\n");
  return cleanGeneratedTitle(cutOff ? text.trim().replace(/\s+\S+$/, "") : text);
}
