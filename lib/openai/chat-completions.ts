import "server-only";
import { createHash, randomBytes } from "node:crypto";
import { getAttachmentOrThrow, type AttachmentRecord } from "@/lib/db/attachments";
import { saveExchange } from "@/lib/db/messages";
import type { Engine } from "@/lib/engine/engine";
import { EngineError } from "@/lib/engine/errors";
import { getEngine } from "@/lib/engine/get-engine";
import type { EngineMessage, GenerateEvent, GenerationUsage } from "@/lib/engine/types";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { blobPath } from "@/lib/storage/blob-store";
import { saveUpload } from "@/lib/storage/save-upload";
import type { MessagePart } from "@/lib/chat/message-parts";
import { titleFrom } from "@/lib/chat/title";
import { mediaForPrompt } from "@/lib/media/media-for-prompt";
import { mediaPromptParts } from "@/lib/media/prompt-parts";
import { OpenAiError } from "./errors";
import { decodeImageDataUri } from "./image-data-uri";
import { mediaPartSource, unsupportedParameter, type ChatCompletionMessage, type ChatCompletionRequest } from "./schema";
import { StopFilter } from "./stop-filter";

/** Our own uploads are the only image URLs accepted (no server-side fetching). */
const UPLOAD_PATH = /^\/api\/uploads\/([A-Za-z0-9_-]{1,64})$/;

/** What one answer cost, as counted against its API key. */
export interface KeyUsage {
  promptTokens: number;
  completionTokens: number;
  /** Images, audio clips, videos and files in the request. */
  images: number;
}

interface ResolvedMessage {
  role: "system" | "user" | "assistant";
  parts: MessagePart[];
  engine: EngineMessage;
}

export async function engineOrUnavailable(): Promise<Engine> {
  try {
    return await getEngine();
  } catch (err) {
    throw new OpenAiError(503, `The model is not available: ${(err as Error).message}`, null, "engine_unavailable", 30);
  }
}

/** An image, video, audio or file part → the key owner's attachment (stored and read like an upload). */
async function resolveImage(userId: string, url: string, param: string, fileName: string | null = null): Promise<AttachmentRecord> {
  const own = UPLOAD_PATH.exec(url);
  if (own) {
    try {
      return await getAttachmentOrThrow({ id: own[1]!, userId });
    } catch (err) {
      if (err instanceof AppError && err.status === 404) throw new OpenAiError(404, "Image not found: no upload of yours has this URL.", param, "image_not_found");
      throw err;
    }
  }
  const bytes = decodeImageDataUri(url, param, "Only data: URIs and the URLs of your own uploads (/api/uploads/ID) are accepted; remote URLs and file paths are never fetched.");
  try {
    return await saveUpload({ userId, bytes, fileName });
  } catch (err) {
    if (err instanceof AppError && err.status < 500) throw new OpenAiError(err.status, err.message, param, "invalid_image");
    throw err;
  }
}

/** OpenAI messages → stored parts and engine messages; images are validated, normalised and stored first. */
async function resolveMessages(userId: string, messages: ChatCompletionMessage[]): Promise<ResolvedMessage[]> {
  const out: ResolvedMessage[] = [];
  for (const [i, m] of messages.entries()) {
    const role = m.role === "developer" ? "system" : m.role;
    const content = m.content ?? "";
    const parts: MessagePart[] = [];
    const images: string[] = [];
    if (typeof content === "string") parts.push({ type: "text", text: content });
    else {
      const count = content.filter((p) => p.type !== "text").length;
      if (count > env.MAX_IMAGES_PER_MESSAGE) {
        throw new OpenAiError(400, `At most ${env.MAX_IMAGES_PER_MESSAGE} images per message (this one has ${count}).`, `messages.${i}.content`, "too_many_images");
      }
      for (const [j, p] of content.entries()) {
        if (p.type === "text") parts.push({ type: "text", text: p.text });
        else {
          if (role !== "user") throw new OpenAiError(400, "Images are accepted in user messages only.", `messages.${i}.content.${j}`, "invalid_value");
          const src = p.type === "image_url" ? { url: p.image_url.url, fileName: null, param: "image_url.url" } : mediaPartSource(p);
          const att = await resolveImage(userId, src.url, `messages.${i}.content.${j}.${src.param}`, src.fileName);
          parts.push({ type: "image", attachmentId: att.id });
          images.push(blobPath(att.storageKey));
        }
      }
    }
    const text = parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("\n");
    out.push({ role, parts, engine: { role, text, images: images.length ? images : undefined } });
  }
  // Videos, audio and files become their derived images and a text naming them, as in the chat.
  const media = await mediaForPrompt(out.flatMap((m) => m.parts.flatMap((p) => (p.type === "image" ? [p.attachmentId] : []))));
  if (media.size) {
    const keys = new Map<string, string>();
    for (const m of out) for (const [k, p] of m.parts.entries()) if (p.type === "image" && m.engine.images) keys.set(p.attachmentId, m.engine.images[m.parts.slice(0, k).filter((q) => q.type === "image").length]!);
    for (const m of out) {
      if (!m.parts.some((p) => p.type === "image" && media.has(p.attachmentId))) continue;
      const text = m.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("\n");
      const read = m.parts.flatMap((p) => (p.type === "image" && media.has(p.attachmentId) ? [{ id: p.attachmentId, ...mediaPromptParts(media.get(p.attachmentId)!, text) }] : []));
      const images = m.parts.flatMap((p) => (p.type !== "image" ? [] : media.has(p.attachmentId) ? read.find((r) => r.id === p.attachmentId)!.keys.map(blobPath) : [keys.get(p.attachmentId)!]));
      m.engine = { role: m.role, text: [...read.map((r) => r.text), ...(text ? [text] : [])].join("\n"), images: images.length ? images : undefined };
    }
  }
  return out;
}

/**
 * The conversation a request continues: clients resend the whole history,
 * so requests that start with the same messages (up to the first question,
 * images by content) share a key, and the engine's cached state for that
 * key is reused on the next turn.
 */
function sessionKeyFor(userId: string, messages: ResolvedMessage[]): string {
  const firstUser = messages.findIndex((m) => m.role === "user");
  const head = messages.slice(0, firstUser + 1).map((m) => ({ r: m.role, p: m.parts }));
  return `v1:${userId}:${createHash("sha256").update(JSON.stringify(head)).digest("hex").slice(0, 32)}`;
}

const sse = (obj: unknown) => `data: ${JSON.stringify(obj)}\n\n`;

/** Images one request may carry in all its messages (clients resend earlier turns' images). */
const MAX_IMAGES_PER_REQUEST = () => env.MAX_IMAGES_PER_MESSAGE * 2;

/** Conversation keys with a generation running now (see `createChatCompletion`). */
const keysInUse: Set<string> = ((globalThis as { __v1KeysInUse?: Set<string> }).__v1KeysInUse ??= new Set());

function usageOf(u: GenerationUsage) {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    prompt_tokens_details: { cached_tokens: u.reusedPromptTokens },
  };
}

/**
 * `POST /v1/chat/completions` for one user (the API key's owner): streaming
 * (server-sent events ending in `[DONE]`) or one JSON answer, on whichever
 * engine the app runs. A client that disconnects stops generation.
 */
export async function createChatCompletion({
  userId,
  req,
  signal,
  onUsage,
}: {
  userId: string;
  req: ChatCompletionRequest;
  signal: AbortSignal;
  /** Told once per answer, when it ends (however it ends): what it cost, for per-key accounting. */
  onUsage?: (usage: KeyUsage) => void | Promise<void>;
}): Promise<Response> {
  const unsupported = unsupportedParameter(req);
  if (unsupported) throw new OpenAiError(400, unsupported.message, unsupported.param, "unsupported_parameter");
  const engine = await engineOrUnavailable();
  if (req.model !== engine.model.id) {
    throw new OpenAiError(404, `The model '${req.model}' does not exist. This server serves '${engine.model.id}' (see GET /v1/models).`, "model", "model_not_found");
  }
  if (req.messages.at(-1)?.role === "assistant") throw new OpenAiError(400, "The last message must not be the assistant's.", "messages", "invalid_value");
  // Cheap refusals first: no image is decoded for a request that cannot be served.
  const imageCount = req.messages.reduce((n, m) => n + (Array.isArray(m.content) ? m.content.filter((p) => p.type !== "text").length : 0), 0);
  // `input_audio` reaches a model that hears audio as audio, any vision model as its spectrogram; everything else needs vision.
  const audioCount = req.messages.reduce((n, m) => n + (Array.isArray(m.content) ? m.content.filter((p) => p.type === "input_audio").length : 0), 0);
  if (imageCount > audioCount && !engine.info.vision) throw new OpenAiError(400, `${engine.model.id} cannot see images.`, "messages", "model_not_vision");
  if (audioCount && !engine.info.vision && !engine.info.audio) throw new OpenAiError(400, `${engine.model.id} cannot take audio.`, "messages", "model_not_vision");
  if (imageCount > MAX_IMAGES_PER_REQUEST()) {
    throw new OpenAiError(400, `At most ${MAX_IMAGES_PER_REQUEST()} images per request (this one has ${imageCount}).`, "messages", "too_many_images");
  }
  const status = engine.status();
  if (status.slotsFree === 0 && status.queueLength >= env.QUEUE_LIMIT) {
    throw new OpenAiError(503, "The model is busy with other answers. Try again in a few seconds.", null, "engine_busy", 5);
  }
  const messages = await resolveMessages(userId, req.messages);
  const wanted = req.max_completion_tokens ?? req.max_tokens ?? env.MAX_ANSWER_TOKENS;
  const engineMessages = messages.map((m) => m.engine);
  // Count exactly when there are images (their cost can depend on their size) or when the cheap
  // upper bound leaves no room for the whole answer.
  const bound = engineMessages.some((m) => m.images) ? Infinity : engine.tokenUpperBound(engineMessages);
  const promptTokens = bound + wanted <= engine.info.contextSize ? bound : await engine.countTokens(engineMessages);
  const room = engine.info.contextSize - promptTokens;
  if (room < 1) {
    throw new OpenAiError(400, `The messages need ${promptTokens} tokens; the context window is ${engine.info.contextSize}.`, "messages", "context_length_exceeded");
  }
  const maxTokens = Math.min(wanted, room);

  const id = `chatcmpl-${randomBytes(12).toString("base64url")}`;
  const created = Math.floor(Date.now() / 1000);
  const model = engine.model.id;
  const stops = new StopFilter(req.stop == null ? [] : Array.isArray(req.stop) ? req.stop : [req.stop]);
  const halt = new AbortController();
  const onClientGone = () => halt.abort();
  signal.addEventListener("abort", onClientGone, { once: true });
  if (signal.aborted) halt.abort(); // gone while the images were being stored
  // Parallel requests with the same opening would wait for each other on one
  // conversation's state while holding slots: only the first uses (and updates) it.
  const key = sessionKeyFor(userId, messages);
  const sessionKey = keysInUse.has(key) ? undefined : key;
  if (sessionKey) keysInUse.add(sessionKey);
  const events = engine.generate({
    messages: engineMessages,
    sessionKey,
    maxTokens,
    sampling: { temperature: req.temperature ?? 1, topP: req.top_p ?? 1, seed: req.seed ?? undefined },
    signal: halt.signal,
  });

  // The first event is awaited before any response goes out, so "busy"
  // (queue_full) is a 503 with Retry-After, never an error inside a 200 stream.
  let first: IteratorResult<GenerateEvent>;
  try {
    first = await events.next();
  } catch (err) {
    signal.removeEventListener("abort", onClientGone);
    if (sessionKey) keysInUse.delete(sessionKey);
    throw err;
  }
  async function* all() {
    if (!first.done) yield first.value;
    yield* events;
  }

  /** Runs the generation, handing released text to `emit`; resolves with the final usage and text. */
  const run = async (emit: (text: string) => void) => {
    let usage: GenerationUsage | undefined;
    let text = "";
    try {
      for await (const ev of all()) {
        if (ev.type === "delta") {
          const out = stops.push(ev.text);
          if (out) {
            text += out;
            emit(out);
          }
          if (stops.stopped) halt.abort();
        } else usage = ev.usage;
      }
    } finally {
      signal.removeEventListener("abort", onClientGone);
      if (sessionKey) keysInUse.delete(sessionKey);
    }
    const rest = stops.flush();
    if (rest) {
      text += rest;
      emit(rest);
    }
    const u = usage!;
    try {
      await onUsage?.({ promptTokens: u.promptTokens, completionTokens: u.completionTokens, images: imageCount });
    } catch (err) {
      console.error("[v1] usage not recorded:", err);
    }
    const finish = stops.stopped ? "stop" : u.finishReason === "length" ? "length" : "stop";
    if (req.store && !signal.aborted) {
      await saveExchange({
        userId,
        title: titleFrom(messages.find((m) => m.role === "user")?.parts ?? [], text),
        model,
        messages: messages.map((m) => ({ role: m.role, parts: m.parts })),
        answer: {
          text,
          status: u.finishReason === "error" ? "error" : "complete",
          error: u.error,
          stats: { promptTokens: u.promptTokens, reusedTokens: u.reusedPromptTokens, completionTokens: u.completionTokens, ttftMs: Math.round(u.ttftMs), tokensPerSecond: u.tokensPerSecond },
        },
      });
    }
    return { usage: u, text, finish };
  };

  if (!req.stream) {
    const { usage, text, finish } = await run(() => {});
    if (usage.finishReason === "error") throw new OpenAiError(503, usage.error ?? "The model failed while answering.", null, "engine_error", 5);
    return Response.json(
      {
        id,
        object: "chat.completion",
        created,
        model,
        system_fingerprint: null,
        choices: [{ index: 0, message: { role: "assistant", content: text, refusal: null }, logprobs: null, finish_reason: finish }],
        usage: usageOf(usage),
      },
      { headers: { "cache-control": "no-store" } },
    );
  }

  const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
    id,
    object: "chat.completion.chunk",
    created,
    model,
    system_fingerprint: null,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  const encoder = new TextEncoder();
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (s: string) => {
        if (!cancelled) controller.enqueue(encoder.encode(s));
      };
      try {
        send(sse(chunk({ role: "assistant", content: "" }, null)));
        const { usage, finish } = await run((text) => send(sse(chunk({ content: text }, null))));
        if (usage.finishReason === "error") {
          send(sse({ error: { message: usage.error ?? "The model failed while answering.", type: "server_error", param: null, code: "engine_error" } }));
        } else {
          send(sse(chunk({}, finish)));
          if (req.stream_options?.include_usage) send(sse({ id, object: "chat.completion.chunk", created, model, system_fingerprint: null, choices: [], usage: usageOf(usage) }));
        }
        send("data: [DONE]\n\n");
        if (!cancelled) controller.close();
      } catch (err) {
        const message = err instanceof EngineError || err instanceof OpenAiError ? err.message : "The model failed while answering.";
        if (!(err instanceof EngineError || err instanceof OpenAiError)) console.error("[v1] stream failed:", err);
        try {
          send(sse({ error: { message, type: "server_error", param: null, code: "engine_error" } }));
          send("data: [DONE]\n\n");
          controller.close();
        } catch {
          /* the client is gone */
        }
      }
    },
    cancel() {
      cancelled = true;
      halt.abort();
    },
  });
  return new Response(body, {
    // no-transform: compression (Next's, or a proxy's) would hold tokens back in its buffer.
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store, no-transform", connection: "keep-alive", "x-accel-buffering": "no" },
  });
}
