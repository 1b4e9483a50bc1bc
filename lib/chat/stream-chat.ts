import "server-only";
import { createUIMessageStreamResponse, streamText, type UIMessageChunk } from "ai";
import { engineModel } from "@/lib/ai/provider";
import { assertConversationOwnedOrThrow, getAnswerContextOrThrow } from "@/lib/db/conversations";
import { answerStatus, attachmentKeys, beginTurnOrThrow, DEFAULT_TITLE, saveAnswer, setDefaultTitle, type TurnKind } from "@/lib/db/messages";
import { getEngine, holdEngine, loadedEngine } from "@/lib/engine/get-engine";
import { EngineError } from "@/lib/engine/errors";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { instanceId } from "@/lib/instance/lease";
import { answersInFlight, SERVER_STOP_MESSAGES, trackAnswer, type AnswerInFlight } from "./answers-in-flight";
import { buildModelInput, toEngineHistory } from "./build-model-input";
import { mediaForPrompt } from "@/lib/media/media-for-prompt";
import { generateTitle } from "./generate-title";
import type { MessagePart } from "./message-parts";
import type { SamplingSettings } from "./settings";
import { titleFrom } from "./title";
import type { ChatAnswerMetadata } from "./ui-message";

type AnswerStats = NonNullable<ChatAnswerMetadata["stats"]>;

/**
 * Answer budget in tokens: the conversation's own or MAX_ANSWER_TOKENS, at most half the loaded
 * model's context (which can be less than CONTEXT_SIZE: llama-server caps it at what the model
 * was trained for).
 */
export const answerTokens = (settings: SamplingSettings, contextSize: number) =>
  Math.min(settings.maxTokens ?? env.MAX_ANSWER_TOKENS, Math.floor(contextSize / 2));

/**
 * Most messages of a branch read for one answer: older ones are never in
 * the prompt of any context window we run (each message costs several
 * tokens with its chat-template markers).
 */
const MAX_HISTORY_MESSAGES = 4096;

/** `work`, or an AppError after `ms` (the work's own signal stops what it does). */
async function withDeadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new AppError("unavailable:chat", message, { retryAfterSeconds: 30 })), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** How often the partial answer is written, so a killed server loses at most this much. */
const FLUSH_MS = 1500;

/**
 * Refuses a system prompt (or a larger answer budget) that leaves no room for
 * a question: checked when it is set, so later turns never fail for it. The
 * check needs the loaded model's tokenizer; while no model is loaded it is
 * skipped (a turn that cannot fit still gets a clear error).
 */
export async function systemPromptMustFit(systemPrompt: string | null | undefined, settings: SamplingSettings | null | undefined): Promise<void> {
  const engine = loadedEngine();
  if (!systemPrompt || !engine) return;
  const room = engine.info.contextSize - answerTokens(settings ?? {}, engine.info.contextSize);
  // A question needs some room too: at least an image's tokens and a sentence.
  const needed = (await engine.countTokens([{ role: "system", text: systemPrompt }])) + engine.info.imageTokens + 64;
  if (needed > room) {
    throw new AppError(
      "bad_request:conversation",
      `The system prompt is too long for this model: with a question it needs about ${needed} tokens, and the context window leaves ${room} after the answer budget. Shorten it${settings?.maxTokens ? " or lower the answer length" : ""}.`,
    );
  }
}

async function engineOrThrow() {
  try {
    return await getEngine();
  } catch (err) {
    throw new AppError("unavailable:engine", `The model is not available: ${(err as Error).message}`, { retryAfterSeconds: 30 });
  }
}

/**
 * One chat turn: the question is saved before generation starts; the answer
 * is saved as `streaming`, flushed while it grows, and finally saved as
 * `complete`, `stopped` (Stop or a client that went away, with the partial
 * text) or `error` (with a plain message). The client disconnecting aborts
 * generation and frees the slot; so do deleting the conversation and shutting
 * the server down (see answers-in-flight.ts), which also end the client's
 * stream with an error part that says why.
 */
export async function streamChat({
  userId,
  conversationId,
  turn,
  signal,
}: {
  userId: string;
  conversationId: string;
  /** A new question, a new version of an earlier one, or another answer. */
  turn: TurnKind;
  signal: AbortSignal;
}): Promise<Response> {
  const parts: MessagePart[] | null = turn.kind === "regenerate" ? null : turn.parts;
  const images = parts?.filter((p) => p.type === "image").length ?? 0;
  if (images > env.MAX_IMAGES_PER_MESSAGE) {
    throw new AppError("bad_request:chat", `At most ${env.MAX_IMAGES_PER_MESSAGE} images per message (this one has ${images}).`);
  }
  if (parts && !parts.some((p) => (p.type === "text" ? p.text.trim() : true))) {
    throw new AppError("bad_request:chat", "The message is empty.");
  }
  // Ownership first: another user's conversation is "not found", whatever the model's state.
  await assertConversationOwnedOrThrow({ id: conversationId, userId });
  const engine = await engineOrThrow();
  if (images && !engine.info.vision) {
    throw new AppError("bad_request:chat", `${engine.model.name} cannot see images. Remove the images or load a model with an mmproj.`);
  }
  const status = engine.status();
  // Admission: answers admitted a moment ago may not be in the engine's queue
  // yet (their rows are being written), so they count too, and nothing below
  // awaits before this one is tracked. Once admitted, an answer waits for a
  // slot however long the queue (`admitted` below), so a burst is refused
  // here with 503 + Retry-After, never with an error inside its stream.
  const capacity = status.slotsBusy + status.slotsFree;
  if ((status.slotsFree === 0 && status.queueLength >= env.QUEUE_LIMIT) || answersInFlight() >= capacity + env.QUEUE_LIMIT) {
    throw new AppError("unavailable:engine", "The model is busy with other answers. Try again in a few seconds.", { retryAfterSeconds: 5 });
  }

  // A client that left while the model was loading or busy (Stop during "Thinking…") gets nothing written.
  if (signal.aborted) throw new AppError("bad_request:chat", "The request was cancelled.");
  // Tracked before the rows exist: a delete that lands meanwhile still stops this answer.
  const answer = trackAnswer({ conversationId, userId });
  let ids: Awaited<ReturnType<typeof beginTurnOrThrow>>;
  try {
    ids = await beginTurnOrThrow({ conversationId, userId, turn, model: engine.model.id, instanceId: instanceId() });
  } catch (err) {
    answer.end();
    throw err;
  }
  const { userMessageId, assistantMessageId } = ids;
  // The reader going away, or the server stopping the answer.
  const abortSignal = AbortSignal.any([signal, answer.signal]);
  // The engine stays loaded until this answer is saved (a model switch waits for it).
  const release = holdEngine();

  let text = "";
  let settled = false;
  /** Resolves when the client's stream has ended (or was cancelled): every chunk it got has been counted in `text`. */
  let streamEnded!: () => void;
  const clientStreamDone = new Promise<void>((resolve) => (streamEnded = resolve));
  /** The first question, while the conversation still has its default title (set once the history is loaded). */
  let untitledFirstQuestion: MessagePart[] | null = null;
  /** Saves the answer's final state once, whichever way the turn ends. */
  const finish = async (
    status: "complete" | "stopped" | "error",
    { stats, error, finishReason }: { stats?: AnswerStats; error?: string; finishReason?: string } = {},
  ) => {
    if (settled) return;
    settled = true;
    clearInterval(flusher);
    release();
    // A stop is seen before the chunks already on their way have passed: save once they have (at most a second).
    if (status === "stopped") await Promise.race([clientStreamDone, new Promise((r) => setTimeout(r, 1000).unref())]);
    const serverStop = answer.stopReason();
    if (serverStop && status !== "error") {
      status = "stopped";
      error = SERVER_STOP_MESSAGES[serverStop];
    }
    try {
      await saveAnswer({ id: assistantMessageId, text, status, error, stats, finishReason: finishReason ?? (status === "stopped" ? "aborted" : undefined) });
      // Until the user renames it, the conversation is named after its first question
      // (not when it was deleted, nor while the model is being unloaded).
      if (status !== "error" && untitledFirstQuestion && !serverStop) {
        await setDefaultTitle({ conversationId, title: titleFrom(untitledFirstQuestion, text) });
        void generateTitle({ engine, conversationId, question: untitledFirstQuestion, answer: text });
      }
    } finally {
      answer.end();
    }
  };
  let flushed = "";
  const flusher = setInterval(() => {
    if (text !== flushed && !settled) {
      flushed = text;
      // Nothing saved: the conversation was deleted (perhaps through another
      // instance, which cannot stop this answer itself), or another instance
      // closed the answer. Either way, stop writing it.
      saveAnswer({ id: assistantMessageId, text, status: "streaming" })
        .then(async (saved) => {
          if (saved || settled) return;
          const now = await answerStatus(assistantMessageId);
          if (now !== "streaming") answer.stop(now === null ? "deleted" : "closed");
        })
        .catch(() => {});
    }
  }, FLUSH_MS);

  try {
    // The branch being answered: the new answer's ancestors (whatever another tab shows meanwhile),
    // read no further back than the context window could hold (a message costs at least a token).
    const conversation = await getAnswerContextOrThrow({
      id: conversationId,
      userId,
      leafId: assistantMessageId,
      maxMessages: Math.min(engine.info.contextSize, MAX_HISTORY_MESSAGES),
    });
    const { history, settings } = conversation;
    if (conversation.title === DEFAULT_TITLE && conversation.omitted === 0) untitledFirstQuestion = history.find((m) => m.role === "user")?.parts ?? null;
    const ids = history.flatMap((m) => m.parts.flatMap((p) => (p.type === "image" ? [p.attachmentId] : [])));
    // A turn that cannot even start (a prompt that takes too long to fit) ends as an error and frees everything.
    const input = await withDeadline(
      buildModelInput({
        engine,
        systemPrompt: conversation.systemPrompt,
        history: toEngineHistory(history, await attachmentKeys(ids), await mediaForPrompt(ids)),
        answerTokens: answerTokens(settings, engine.info.contextSize),
        // Past the deadline the search stops at its next count too.
        signal: AbortSignal.any([abortSignal, AbortSignal.timeout(env.TURN_START_TIMEOUT_MS)]),
      }),
      env.TURN_START_TIMEOUT_MS,
      "The answer could not be started in time: preparing this conversation's prompt took too long.",
    );

    let stats: ChatAnswerMetadata["stats"];
    const result = streamText({
      // Admitted at the door above: it waits for a slot rather than failing as "busy" mid-stream.
      model: engineModel(engine, { sessionKey: conversation.branchKey, admitted: true }),
      messages: input.messages,
      // The system message is the conversation owner's own prompt, not something a third party wrote.
      allowSystemInMessages: true,
      maxOutputTokens: answerTokens(settings, engine.info.contextSize),
      // Regenerate asks for another answer: greedy decoding with no seed would write the same text
      // again, so it samples (at least at temperature 0.8) with a fresh seed, unless the
      // conversation's settings pin a seed (then it is reproducible, like every other turn).
      ...(turn.kind === "regenerate" && settings.seed === undefined
        ? { temperature: settings.temperature || 0.8, seed: Math.floor(Math.random() * 2 ** 31) }
        : { temperature: settings.temperature ?? 0, seed: settings.seed }),
      topP: settings.topP,
      abortSignal,
      onChunk({ chunk }) {
        if (chunk.type === "text-delta") text += chunk.text;
      },
      async onFinish({ totalUsage, providerMetadata, finishReason }) {
        stats = statsFrom(totalUsage, providerMetadata);
        const reason = localMetadata(providerMetadata).finishReason;
        const stopped = reason === "aborted" || abortSignal.aborted;
        await finish(finishReason === "error" ? "error" : stopped ? "stopped" : "complete", { stats, finishReason: stopped ? "aborted" : reason });
      },
      async onAbort() {
        await finish("stopped");
      },
      async onError({ error }) {
        await finish("error", { error: error instanceof Error ? error.message : "The model failed." });
      },
    });

    let finishReason: string | undefined;
    const stream = result.toUIMessageStream({
      // The answer's id on the client is its id in the database.
      generateMessageId: () => assistantMessageId,
      messageMetadata: ({ part }): ChatAnswerMetadata | undefined => {
        if (part.type === "start") return { conversationId, assistantMessageId, userMessageId, droppedMessages: input.dropped + conversation.omitted, model: engine.model.id };
        // The step's own figures: onFinish may run after the finish part has gone out.
        if (part.type === "finish-step") {
          stats = statsFrom(part.usage, part.providerMetadata);
          finishReason = localMetadata(part.providerMetadata).finishReason;
        }
        if (part.type === "finish") return { conversationId, assistantMessageId, userMessageId, stats, status: "complete", finishReason };
        return undefined;
      },
      onError: (error) => (error instanceof EngineError || error instanceof AppError ? error.message : "The model failed while answering."),
    });
    // A client that goes away (Stop, a closed tab) cancels the response body;
    // the server may stop the answer too: save what was written so far as stopped.
    abortSignal.addEventListener("abort", () => void finish("stopped"), { once: true });
    const response = createUIMessageStreamResponse({
      stream: stream.pipeThrough(withServerStopError(answer, streamEnded)),
      // Next's gzip would hold streamed tokens back in its buffer (measured with bench:api: +16 ms to the first token).
      headers: { "cache-control": "no-cache, no-transform" },
    });
    return new Response(
      onCancel(response.body!, () => {
        streamEnded();
        void finish("stopped");
      }),
      { status: response.status, headers: response.headers },
    );
  } catch (err) {
    await finish("error", { error: err instanceof AppError ? err.message : "The answer could not be started." });
    throw err;
  }
}

/**
 * Ends the client's stream with an error part when the server stopped the
 * answer (deleted conversation, shutdown), so the client says why instead of
 * showing a silently cut answer.
 */
function withServerStopError(answer: AnswerInFlight, ended: () => void): TransformStream<UIMessageChunk, UIMessageChunk> {
  return new TransformStream({
    flush(controller) {
      ended();
      const reason = answer.stopReason();
      if (reason) controller.enqueue({ type: "error", errorText: SERVER_STOP_MESSAGES[reason] });
    },
  });
}

/** Passes a stream through, calling `cancelled` when its reader cancels it. */
function onCancel(stream: ReadableStream<Uint8Array>, cancelled: () => void): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel(reason) {
      cancelled();
      await reader.cancel(reason);
    },
  });
}

type Usage = { inputTokens?: number; outputTokens?: number; inputTokenDetails?: { cacheReadTokens?: number } };
type LocalMetadata = { ttftMs?: number; tokensPerSecond?: number; finishReason?: string };

const localMetadata = (providerMetadata: unknown): LocalMetadata =>
  ((providerMetadata as { local?: LocalMetadata } | undefined)?.local ?? {}) as LocalMetadata;

/** Per-answer figures from the AI SDK usage and the engine's own metadata. */
function statsFrom(usage: Usage, providerMetadata: unknown): AnswerStats {
  const local = localMetadata(providerMetadata);
  return {
    ttftMs: local.ttftMs ?? 0,
    tokensPerSecond: local.tokensPerSecond ?? 0,
    promptTokens: usage.inputTokens ?? 0,
    reusedTokens: usage.inputTokenDetails?.cacheReadTokens ?? 0,
    completionTokens: usage.outputTokens ?? 0,
  };
}
