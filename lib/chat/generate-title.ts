import "server-only";
import { generateText } from "ai";
import { engineModel } from "@/lib/ai/provider";
import { setGeneratedTitle } from "@/lib/db/conversations";
import type { Engine } from "@/lib/engine/engine";
import type { MessagePart } from "./message-parts";
import { cleanGeneratedTitle } from "./title";

/** Tokens the model may spend on a title. */
const TITLE_TOKENS = 16;
/** Characters of the question and of the answer the model reads. */
const EXCERPT_CHARS = 600;
/** How often an engine busy with answers is checked again, in ms. */
const IDLE_POLL_MS = 250;
/** A title still waiting for an idle engine after this long (ms) is dropped: the first-question title stays. */
const IDLE_WAIT_MS = 5 * 60_000;
/** Longest a title generation may run, in ms. */
const GENERATION_MS = 30_000;

const INSTRUCTION =
  "Write a short title (at most six words) for the conversation below. Reply with the title only, no quotes, no punctuation at the end.";

/** Titles are written one at a time, so a burst of new chats never takes more than one slot. */
let queue: Promise<unknown> = Promise.resolve();

/**
 * Names a conversation with the chat model after its first exchange, in the
 * background: it waits until the engine has no answer running or queued
 * (titles never delay an answer), then writes at most 16 tokens at
 * temperature 0 without a session key (no conversation's cached state is
 * touched). The cleaned title replaces the first-question title unless it
 * is empty or the user renamed the conversation meanwhile.
 *
 * Never rejects; resolves with the title saved, or null when none was.
 */
export function generateTitle({
  engine,
  conversationId,
  question,
  answer,
}: {
  engine: Engine;
  conversationId: string;
  /** The first question's parts (only the text is shown to the model). */
  question: MessagePart[];
  /** The first answer's text. */
  answer: string;
}): Promise<string | null> {
  const run = queue.then(async () => {
    if (!(await waitUntilIdle(engine))) return null;
    const title = await writeTitle(engine, question, answer);
    if (!title) return null;
    return (await setGeneratedTitle({ id: conversationId, title })) ? title : null;
  });
  queue = run.catch(() => {});
  return run.catch((err: unknown) => {
    console.warn(`[title] no title for ${conversationId}: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  });
}

async function writeTitle(engine: Engine, question: MessagePart[], answer: string): Promise<string> {
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
    abortSignal: AbortSignal.timeout(GENERATION_MS),
  });
  // Cut off by the token cap within its first line: that line's last word may be unfinished.
  const cutOff = finishReason === "length" && !text.trim().includes("\n");
  return cleanGeneratedTitle(cutOff ? text.trim().replace(/\s+\S+$/, "") : text);
}

/** Resolves true once no answer runs or waits, false after IDLE_WAIT_MS. */
async function waitUntilIdle(engine: Engine): Promise<boolean> {
  const deadline = Date.now() + IDLE_WAIT_MS;
  for (;;) {
    const { slotsBusy, queueLength } = engine.status();
    if (slotsBusy === 0 && queueLength === 0) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, IDLE_POLL_MS));
  }
}
