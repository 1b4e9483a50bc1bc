import "server-only";
import { createUIMessageStreamResponse, streamText, type UIMessageChunk } from "ai";
import { engineModel } from "@/lib/ai/provider";
import { getAttachmentsOrThrow } from "@/lib/db/attachments";
import { assertConversationOwnedOrThrow, getAnswerContextOrThrow } from "@/lib/db/conversations";
import { attachmentKeys, beginTurnOrThrow, DEFAULT_TITLE, flushAnswer, saveAnswer, setDefaultTitle, type TurnKind } from "@/lib/db/messages";
import { getEngine, holdEngine, loadedEngine } from "@/lib/engine/get-engine";
import { EngineError } from "@/lib/engine/errors";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { instanceId } from "@/lib/instance/lease";
import { answersInFlight, SERVER_STOP_MESSAGES, trackAnswer } from "./answers-in-flight";
import { startLiveAnswer } from "./live-answers";
import { buildModelInput, toEngineHistory } from "./build-model-input";
import { mediaForPrompt } from "@/lib/media/media-for-prompt";
import { attachmentKindOf, autoAdapters } from "@/lib/engine/auto-adapters";
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

/**
 * How often the partial answer is written (milliseconds): a killed server
 * loses at most this much, a page served by another instance sees the answer
 * grow at this pace (tail-answer.ts), and a Stop pressed there reaches the
 * writer within it. (Not much more often: on SQLite every answer's save
 * takes the one write lock.)
 */
const FLUSH_MS = 1000;

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
 * `complete`, `stopped` (Stop, with the partial text) or `error` (with a
 * plain message). The answer is written by the server, not for one reader:
 * the client going away (a reload, a closed tab, a lost network) only ends
 * its copy of the stream, and any page may join it again (live-answers.ts,
 * GET /api/chat/:id/stream). Only Stop (stop-answer.ts), deleting the
 * conversation or the message, and shutting the server down stop it; the
 * server's own reasons end the stream with an error part that says why.
 */
export async function streamChat({
  userId,
  conversationId,
  turn,
  signal,
}: {
  userId: string;
  conversationId: string;
  /** A new question, a new version of an earlier one, another answer, or more of a cut answer. */
  turn: TurnKind;
  /** The request's: a client that left before the answer's rows were written gets nothing written. */
  signal: AbortSignal;
}): Promise<Response> {
  const parts: MessagePart[] | null = turn.kind === "ask" || turn.kind === "edit" ? turn.parts : null;
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
    // A model that only hears (Ultravox) takes audio files and nothing else.
    const files = engine.info.audio ? await getAttachmentsOrThrow({ ids: parts!.flatMap((p) => (p.type === "image" ? [p.attachmentId] : [])), userId }) : [];
    if (!engine.info.audio || files.some((f) => !f.mediaType.startsWith("audio/"))) {
      throw new AppError(
        "bad_request:chat",
        engine.info.audio
          ? `${engine.model.name} hears audio but cannot see images, videos, documents or charts. Send audio files only, or load a model that sees.`
          : `${engine.model.name} cannot see images. Remove the images or load a model with an mmproj.`,
      );
    }
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
  const { userMessageId, assistantMessageId, prefix } = ids;
  answer.setMessageId(assistantMessageId);
  // Only a stop ends the answer (Stop, a delete, shutdown): never a reader leaving.
  const abortSignal = answer.signal;
  // The engine stays loaded until this answer is saved (a model switch waits for it).
  const release = holdEngine();
  const live = startLiveAnswer({ conversationId, userId, messageId: assistantMessageId, stop: () => answer.stop("user") });

  /** What the readers were sent: the saved answer is exactly this. */
  let text = prefix;
  let settled = false;
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
    const stop = answer.stopReason();
    const serverStop = stop && stop !== "user" ? stop : undefined;
    if (stop && status !== "error") {
      status = "stopped";
      error = serverStop ? SERVER_STOP_MESSAGES[serverStop] : undefined;
    }
    try {
      await saveAnswer({ id: assistantMessageId, text, status, error, stats, finishReason: status === "stopped" ? "aborted" : finishReason });
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
  const flusher = setInterval(() => {
    if (settled) return;
    // Also when nothing new was written: a Stop asked for on another instance is read here.
    flushAnswer({ id: assistantMessageId, text })
      .then((result) => {
        if (result === "stop_requested") answer.stop("user");
        // The conversation or message was deleted (perhaps through another instance, which
        // cannot stop this answer itself), or another instance closed the answer: stop writing it.
        else if (result !== "saved" && !settled) answer.stop(result === "gone" ? "deleted" : "closed");
      })
      .catch(() => {});
  }, FLUSH_MS);

  let input: Awaited<ReturnType<typeof buildModelInput>>;
  let conversation: Awaited<ReturnType<typeof getAnswerContextOrThrow>>;
  /** LoRA adapters: the conversation's own, else ADAPTERS_AUTO's for what the branch shows. */
  let adapters: { name: string; scale?: number }[];
  try {
    // The branch being answered: the new answer's ancestors (whatever another tab shows meanwhile),
    // read no further back than the context window could hold (a message costs at least a token).
    conversation = await getAnswerContextOrThrow({
      id: conversationId,
      userId,
      leafId: assistantMessageId,
      maxMessages: Math.min(engine.info.contextSize, MAX_HISTORY_MESSAGES),
    });
    const { history } = conversation;
    if (conversation.title === DEFAULT_TITLE && conversation.omitted === 0) untitledFirstQuestion = history.find((m) => m.role === "user")?.parts ?? null;
    const ids = history.flatMap((m) => m.parts.flatMap((p) => (p.type === "image" ? [p.attachmentId] : [])));
    const media = await mediaForPrompt(ids);
    const engineHistory = toEngineHistory(history, await attachmentKeys(ids), media);
    const kinds = ids.map((id) => attachmentKindOf(media.get(id)?.info ?? null, { heardAsAudio: Boolean(media.get(id)?.audioFile) }));
    adapters = conversation.settings.adapters ?? autoAdapters(env.ADAPTERS_AUTO, kinds.filter((k) => k !== null), engine.adapters());
    // A name the model does not have (another model is loaded now) ends the turn with the reason, before any work.
    engine.checkAdapters(adapters);
    // Continue: the answer so far ends the prompt with its turn left open (lib/engine/prompt.ts), so the
    // model writes on from its last token, and the branch's cached state covers all of it.
    if (prefix) engineHistory.push({ role: "assistant", text: prefix });
    // A turn that cannot even start (a prompt that takes too long to fit) ends as an error and frees everything.
    input = await withDeadline(
      buildModelInput({
        engine,
        systemPrompt: conversation.systemPrompt,
        history: engineHistory,
        answerTokens: answerTokens(conversation.settings, engine.info.contextSize),
        // Past the deadline the search stops at its next count too.
        signal: AbortSignal.any([abortSignal, AbortSignal.timeout(env.TURN_START_TIMEOUT_MS)]),
      }),
      env.TURN_START_TIMEOUT_MS,
      "The answer could not be started in time: preparing this conversation's prompt took too long.",
    );
  } catch (err) {
    await finish("error", { error: err instanceof AppError || err instanceof EngineError ? err.message : "The answer could not be started." });
    live.end();
    // The conversation names an adapter this model does not have: the user's to fix (settings), a 400.
    if (err instanceof EngineError && (err.code === "unknown_adapter" || err.code === "adapter_refused")) throw new AppError("bad_request:chat", err.message);
    throw err;
  }
  const { settings } = conversation;

  let stats: AnswerStats | undefined;
  let finishReason: string | undefined;
  let failed: string | undefined;
  const result = streamText({
    // Admitted at the door above: it waits for a slot rather than failing as "busy" mid-stream.
    model: engineModel(engine, { sessionKey: conversation.branchKey, admitted: true, adapters }),
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
    onError({ error }) {
      failed ??= error instanceof Error ? error.message : "The model failed.";
    },
  });

  const stream = result.toUIMessageStream({
    // The answer's id on the client is its id in the database.
    generateMessageId: () => assistantMessageId,
    messageMetadata: ({ part }): ChatAnswerMetadata | undefined => {
      if (part.type === "start") return { conversationId, assistantMessageId, userMessageId, droppedMessages: input.dropped + conversation.omitted, model: engine.model.id };
      // The step's own figures: the finish part carries them to the page.
      if (part.type === "finish-step") {
        stats = statsFrom(part.usage, part.providerMetadata);
        finishReason = localMetadata(part.providerMetadata).finishReason;
      }
      if (part.type === "finish") return { conversationId, assistantMessageId, userMessageId, stats, status: "complete", finishReason };
      return undefined;
    },
    onError: (error) => (error instanceof EngineError || error instanceof AppError ? error.message : "The model failed while answering."),
  });

  /**
   * Reads the answer to its end whoever listens, handing every chunk to the
   * live answer's readers. The final state is saved before the closing chunk
   * goes out, so a page that reads the conversation once its stream has
   * ended finds the answer saved.
   */
  const writeAnswer = async () => {
    const closing: UIMessageChunk[] = [];
    try {
      for await (const chunk of stream) {
        if (chunk.type === "finish" || chunk.type === "abort") {
          closing.push(chunk);
          continue;
        }
        if (chunk.type === "error") failed ??= chunk.errorText;
        live.write(chunk);
        if (chunk.type === "text-delta") text += chunk.delta;
        // Continue: the answer so far comes first, so that every reader builds the whole message.
        if (chunk.type === "text-start" && prefix) live.write({ type: "text-delta", id: chunk.id, delta: prefix });
      }
    } catch (err) {
      failed ??= err instanceof Error ? err.message : "The model failed.";
    }
    const stopped = abortSignal.aborted || finishReason === "aborted";
    await finish(failed && !stopped ? "error" : stopped ? "stopped" : "complete", { stats, error: failed, finishReason }).catch((err) =>
      console.error("[chat] the answer could not be saved:", err),
    );
    const stop = answer.stopReason();
    if (stop && stop !== "user") live.write({ type: "error", errorText: SERVER_STOP_MESSAGES[stop] });
    else for (const c of closing) live.write(c);
    live.end();
  };
  void writeAnswer();
  return createUIMessageStreamResponse({
    stream: live.read(),
    // Next's gzip would hold streamed tokens back in its buffer (measured with bench:api: +16 ms to the first token).
    headers: { "cache-control": "no-cache, no-transform" },
  });
}

type Usage = { inputTokens?: number; outputTokens?: number; inputTokenDetails?: { cacheReadTokens?: number } };
type LocalMetadata = { ttftMs?: number; tokensPerSecond?: number; finishReason?: string; adapters?: { name: string; scale: number }[] };

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
    ...(local.adapters?.length ? { adapters: local.adapters } : {}),
  };
}
