import "server-only";
import { pathToFileURL } from "node:url";
import type { ModelMessage } from "ai";
import { modelText, type MessagePart } from "@/lib/chat/message-parts";
import type { StoredMessage } from "@/lib/db/conversations";
import type { Engine } from "@/lib/engine/engine";
import type { EngineMessage } from "@/lib/engine/types";
import { AppError } from "@/lib/errors";
import { mediaPromptParts, type MediaForPrompt } from "@/lib/media/prompt-parts";
import { blobPath } from "@/lib/storage/blob-store";

export interface ModelInput {
  messages: ModelMessage[];
  /** How many earlier messages were left out to fit the context window. */
  dropped: number;
  promptTokens: number;
}

/**
 * Stored history → engine messages: text plus the images' stored files, in
 * message order. An attachment that is a video, audio file, PDF or table
 * (in `media`) becomes its derived images and a text naming them (see
 * mediaPromptParts), placed before the message's own text.
 */
export function toEngineHistory(history: StoredMessage[], keys: Map<string, string>, media: Map<string, MediaForPrompt> = new Map()): EngineMessage[] {
  return showAnswerImagesWithNextQuestion(
    history
      .filter((m) => m.role === "system" || m.status !== "streaming")
      .map((m) => engineMessage(m, keys, media)),
  ).filter((m) => m.text || m.images.length);
}

/**
 * Images in an answer (an image the chat generated) reach the model with the
 * next question, before its own images: "what colour is the square?" after
 * "/draw a blue square" is asked about that image. Chat templates and vision
 * models take images in user turns only (an assistant turn has no image
 * markers in their training, and the AI SDK's assistant message carries no
 * files to the engine), and a VLM reads the images of the turn being asked as
 * the ones asked about (the demo model answers about the newest image in the
 * prompt). The answer itself says in words what it was, so the turns still
 * alternate and a model sees where the image came from. An answer image with
 * no question after it (none to carry it) is left out.
 */
function showAnswerImagesWithNextQuestion(messages: (EngineMessage & { images: string[] })[]) {
  let carried: string[] = [];
  return messages.map((m) => {
    if (m.role === "assistant" && m.images.length) {
      carried = [...carried, ...m.images];
      return { ...m, images: [] };
    }
    if (m.role !== "user" || !carried.length) return m;
    const images = [...carried, ...m.images];
    carried = [];
    return { ...m, images };
  });
}

function engineMessage(m: StoredMessage, keys: Map<string, string>, media: Map<string, MediaForPrompt>): EngineMessage & { images: string[] } {
  // Tool calls and results (stored through /v1) read as they did there.
  const question = modelText(m.parts) || generatedText(m.parts);
  const read = new Map(m.parts.flatMap((p) => (p.type === "image" && media.has(p.attachmentId) ? [[p.attachmentId, mediaPromptParts(media.get(p.attachmentId)!, question)] as const] : [])));
  return {
    role: m.role,
    text: [...[...read.values()].map((r) => r.text), ...(question ? [question] : [])].join("\n"),
    images: m.parts.flatMap((p) =>
      p.type !== "image" ? [] : read.has(p.attachmentId) ? read.get(p.attachmentId)!.keys.map(blobPath) : keys.has(p.attachmentId) ? [blobPath(keys.get(p.attachmentId)!)] : [],
    ),
  };
}

/** What a generated image's answer says to the model in words (its image comes with the next question). */
function generatedText(parts: MessagePart[]): string {
  const generation = parts.find((p) => p.type === "generation");
  if (!generation || !parts.some((p) => p.type === "image")) return "";
  return `Here is the image I generated for “${generation.prompt}”.`;
}

/**
 * Fits the conversation into the context window: the system prompt and the
 * current question always stay; the oldest turns go first until the prompt
 * plus the answer budget fits. Images stay attached to the turn they were
 * sent in, so they are in every later prompt until their turn is dropped.
 *
 * Where to cut is found by bisection over the places a whole turn begins
 * (fewer messages never cost more tokens), with only as many messages as
 * could fit in the first place (each costs at least a token): a few token
 * counts of a bounded prompt, however long the conversation. (Dropping a
 * turn at a time took a count of the whole rest per turn, which never
 * finished on a conversation of 20 000 messages.)
 */
export async function buildModelInput({
  engine,
  systemPrompt,
  history,
  answerTokens,
  signal,
}: {
  engine: Engine;
  systemPrompt: string | null;
  /** Oldest first; the last one is the question being answered. */
  history: EngineMessage[];
  answerTokens: number;
  /** Stops the search between two counts (the client left). */
  signal?: AbortSignal;
}): Promise<ModelInput> {
  const budget = engine.info.contextSize - answerTokens;
  const system: EngineMessage[] = systemPrompt ? [{ role: "system", text: systemPrompt }] : [];
  // Where a prompt may begin: dropping a whole turn at a time (the oldest message and, if it was a question, its answer).
  const starts = [0];
  for (let at = 0; at < history.length - 1; ) {
    at += history[at]?.role === "user" && history[at + 1]?.role === "assistant" && at + 1 < history.length - 1 ? 2 : 1;
    starts.push(at);
  }
  const count = async (i: number) => {
    if (signal?.aborted) throw new AppError("bad_request:chat", "The request was cancelled.");
    return engine.countTokens([...system, ...history.slice(starts[i]!)]);
  };
  // No more messages than tokens in the budget can fit.
  let lo = Math.max(0, starts.findIndex((s) => history.length - s <= Math.max(1, budget)));
  let hi = starts.length - 1;
  const first = await count(lo);
  let found = first <= budget ? { i: lo, tokens: first } : null;
  if (!found) {
    // Invariant: starts[lo] does not fit; look for the first that does in (lo, hi].
    const last = hi === lo ? first : await count(hi);
    if (last > budget) {
      throw new AppError(
        "bad_request:chat",
        `This message alone needs ${last} tokens but the context window leaves ${budget} after the answer budget. Send fewer images or a shorter text.`,
      );
    }
    found = { i: hi, tokens: last };
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      const tokens = await count(mid);
      if (tokens <= budget) {
        hi = mid;
        found = { i: mid, tokens };
      } else lo = mid;
    }
  }
  const start = starts[found.i]!;
  const kept = [...system, ...history.slice(start)];
  return { messages: kept.map(toModelMessage), dropped: start, promptTokens: found.tokens };
}

function toModelMessage(m: EngineMessage): ModelMessage {
  if (m.role === "system") return { role: "system", content: m.text };
  if (m.role === "assistant") return { role: "assistant", content: [{ type: "text", text: m.text }] };
  return {
    role: "user",
    content: [
      ...(m.images ?? []).map((p) => ({ type: "file" as const, data: pathToFileURL(p), mediaType: p.endsWith(".jpg") ? "image/jpeg" : "image/png" })),
      ...(m.text ? [{ type: "text" as const, text: m.text }] : []),
    ],
  };
}
