import "server-only";
import { createHash, randomBytes } from "node:crypto";
import { getAttachmentOrThrow, type AttachmentRecord } from "@/lib/db/attachments";
import { saveExchange } from "@/lib/db/messages";
import type { Engine } from "@/lib/engine/engine";
import { attachmentKindOf, autoAdapters } from "@/lib/engine/auto-adapters";
import { EngineError } from "@/lib/engine/errors";
import { getEngine } from "@/lib/engine/get-engine";
import type { EngineMessage, GenerateEvent, GenerationUsage, OutputConstraint, TokenLogprob } from "@/lib/engine/types";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { blobPath } from "@/lib/storage/blob-store";
import { saveUpload } from "@/lib/storage/save-upload";
import { modelText, type MessagePart } from "@/lib/chat/message-parts";
import { titleFrom } from "@/lib/chat/title";
import { mediaForPrompt } from "@/lib/media/media-for-prompt";
import { mediaPromptParts } from "@/lib/media/prompt-parts";
import { OpenAiError } from "./errors";
import { decodeImageDataUri } from "./image-data-uri";
import { mediaPartSource, unsupportedParameter, type ChatCompletionMessage, type ChatCompletionRequest } from "./schema";
import { StopFilter } from "./stop-filter";
import { schemaValidator, unsupportedSchemaFeatures } from "./json-schema-support";
import { newToolCallId, parseToolAnswer, ResponseText, toolAnswerSchema, toolsPrompt, type FunctionTool, type ToolCall, type ToolMode } from "./tool-calls";

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

/**
 * OpenAI messages → stored parts and engine messages; images are validated,
 * normalised and stored first. Also what kinds of attachment the model is
 * shown (for adapters chosen by kind).
 */
async function resolveMessages(userId: string, messages: ChatCompletionMessage[]): Promise<{ messages: ResolvedMessage[]; kinds: Set<string> }> {
  const out: ResolvedMessage[] = [];
  /** Function names of the calls earlier turns made, by call id (a tool message names only the id). */
  const calledNames = new Map<string, string>();
  for (const [i, m] of messages.entries()) {
    // A tool's result reaches the model as a turn of the user's side, the only other voice a chat template has.
    const role = m.role === "developer" ? "system" : m.role === "tool" ? "user" : m.role;
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
          if (role !== "user") throw new OpenAiError(400, "Images are accepted in user and tool messages only.", `messages.${i}.content.${j}`, "invalid_value");
          const src = p.type === "image_url" ? { url: p.image_url.url, fileName: null, param: "image_url.url" } : mediaPartSource(p);
          const att = await resolveImage(userId, src.url, `messages.${i}.content.${j}.${src.param}`, src.fileName);
          parts.push({ type: "image", attachmentId: att.id });
          images.push(blobPath(att.storageKey));
        }
      }
    }
    if (m.role === "assistant" && m.tool_calls?.length) {
      for (const c of m.tool_calls) {
        calledNames.set(c.id, c.function.name);
        parts.push({ type: "tool-call", id: c.id, name: c.function.name, arguments: c.function.arguments });
      }
    }
    if (m.role === "tool") {
      const result = parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("\n");
      parts.splice(0, parts.length, { type: "tool-result", toolCallId: m.tool_call_id, name: calledNames.get(m.tool_call_id) ?? null, text: result }, ...parts.filter((p) => p.type === "image"));
    }
    const text = modelText(parts);
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
  const kinds = new Set<string>();
  for (const m of out) {
    for (const p of m.parts) {
      if (p.type !== "image") continue;
      const found = media.get(p.attachmentId);
      const kind = attachmentKindOf(found?.info ?? null, { heardAsAudio: Boolean(found?.audioFile) });
      if (kind) kinds.add(kind);
    }
  }
  return { messages: out, kinds };
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

function usageOf(u: Pick<GenerationUsage, "promptTokens" | "completionTokens" | "reusedPromptTokens">) {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    prompt_tokens_details: { cached_tokens: u.reusedPromptTokens },
  };
}

/** OpenAI's `logprobs.content` entries. */
const logprobsOf = (l: TokenLogprob[]) => ({
  content: l.map((t) => ({ token: t.token, logprob: t.logprob, bytes: t.bytes, top_logprobs: t.top.map((a) => ({ token: a.token, logprob: a.logprob, bytes: a.bytes })) })),
  refusal: null,
});

/** What one choice's finished answer is, in OpenAI's message shape. */
interface FinishedChoice {
  content: string | null;
  toolCalls?: ToolCall[];
  finish: "stop" | "length" | "tool_calls";
}

/**
 * A finished generation → its message: free text as it is; a JSON answer
 * parsed and validated against the schema; a tools answer turned into calls
 * (arguments validated against each function's parameters) or its response.
 * An answer max_tokens cut off is returned as the text it got to, with
 * finish_reason "length" (it cannot be whole JSON, as with OpenAI); a cut
 * tools answer gives only a direct response's text, never a half call. A
 * whole answer that does not validate (a remote server that ignored the
 * schema) is an error, never passed on as valid.
 */
function finishChoice(plan: OutputPlan, text: string, cut: boolean): FinishedChoice {
  if (cut && plan.kind === "tools") {
    // A tools answer cut off: the text of a direct response as far as it got, never the raw JSON
    // of a call that did not end (a model that cannot use tools may write an argument until the limit).
    const response = new ResponseText();
    const partial = response.push(text);
    return { content: response.kind === "response" ? partial : null, finish: "length" };
  }
  if (cut || plan.kind === "text") return { content: text, finish: cut ? "length" : "stop" };
  const invalid = (why: string) => new OpenAiError(502, `The model's answer did not match the requested format: ${why}`, null, "invalid_model_output");
  if (plan.kind === "json") {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw invalid("it is not JSON.");
    }
    const why = plan.validate(value);
    if (why) throw invalid(why);
    return { content: text, finish: "stop" };
  }
  const answer = parseToolAnswer(text);
  if (!answer) throw invalid("it is neither a tool call nor a response.");
  if ("response" in answer) return { content: answer.response, finish: "stop" };
  const toolCalls = answer.calls.map((c) => {
    const validate = plan.validators.get(c.name);
    if (!validate) throw invalid(`it calls '${c.name}', which is not among the tools.`);
    const why = validate(c.arguments);
    if (why) throw invalid(`the arguments of ${c.name}: ${why}`);
    return { id: newToolCallId(), type: "function" as const, function: { name: c.name, arguments: JSON.stringify(c.arguments) } };
  });
  return { content: null, toolCalls, finish: "tool_calls" };
}

type OutputPlan =
  | { kind: "text" }
  | { kind: "json"; constraint: OutputConstraint; validate: (value: unknown) => string | null }
  | { kind: "tools"; constraint: OutputConstraint; tools: FunctionTool[]; mode: ToolMode; validators: Map<string, (value: unknown) => string | null> };

/** A schema the grammar (and our validator) can take, or a 400 naming what it cannot. */
function checkedValidator(schema: Record<string, unknown>, param: string, refs: boolean) {
  const features = unsupportedSchemaFeatures(schema, "", { refs });
  if (features.length) {
    throw new OpenAiError(400, `The schema uses what llama.cpp's grammar cannot enforce: ${features.join("; ")}.`, param, "unsupported_schema");
  }
  const v = schemaValidator(schema);
  if ("error" in v) throw new OpenAiError(400, `The schema cannot be read: ${v.error}`, param, "unsupported_schema");
  return v.validate;
}

/** What the answer must be (response_format, tools), checked before anything is generated. */
function outputPlan(req: ChatCompletionRequest): OutputPlan {
  const choice = req.tool_choice ?? "auto";
  if (req.tools?.length && choice !== "none") {
    const tools: FunctionTool[] = req.tools.map((t) => ({ name: t.function.name, description: t.function.description, parameters: t.function.parameters }));
    const validators = new Map(tools.map((t, i) => [t.name, checkedValidator(t.parameters ?? { type: "object" }, `tools.${i}.function.parameters`, false)]));
    const mode: ToolMode = typeof choice === "object" ? { kind: "named", name: choice.function.name } : choice === "required" ? { kind: "required" } : { kind: "auto" };
    return { kind: "tools", tools, mode, validators, constraint: { jsonSchema: toolAnswerSchema(tools, mode, req.parallel_tool_calls ?? true) } };
  }
  const format = req.response_format;
  if (format?.type === "json_object") {
    return { kind: "json", constraint: { jsonSchema: { type: "object" } }, validate: (v) => (v && typeof v === "object" && !Array.isArray(v) ? null : "it is not a JSON object.") };
  }
  if (format?.type === "json_schema") {
    const schema = format.json_schema.schema;
    if (!schema) throw new OpenAiError(400, "response_format json_schema needs json_schema.schema.", "response_format.json_schema.schema", "invalid_value");
    return { kind: "json", constraint: { jsonSchema: schema }, validate: checkedValidator(schema, "response_format.json_schema.schema", true) };
  }
  return { kind: "text" };
}

/** The engine messages with the tools described at the top of the system prompt. */
function withToolsPrompt(messages: EngineMessage[], plan: OutputPlan): EngineMessage[] {
  if (plan.kind !== "tools") return messages;
  const prompt = toolsPrompt(plan.tools, plan.mode);
  const [first, ...rest] = messages;
  if (first?.role === "system") return [{ ...first, text: `${prompt}\n\n${first.text}` }, ...rest];
  return [{ role: "system", text: prompt }, ...messages];
}

/** Splits a tool call's arguments into the fragments a stream sends (OpenAI sends them as they are written). */
const fragments = (s: string, size = 24) => (s ? Array.from({ length: Math.ceil(s.length / size) }, (_, i) => s.slice(i * size, (i + 1) * size)) : [""]);

/**
 * `POST /v1/chat/completions` for one user (the API key's owner): streaming
 * (server-sent events ending in `[DONE]`) or one JSON answer, on whichever
 * engine the app runs. A client that disconnects stops generation.
 *
 * `n` answers (at most MAX_CHOICES) are generated at once, each on its own
 * slot (with `seed`, the i-th uses seed + i); only the first may use the
 * conversation's cached state. `response_format` and `tools` constrain the
 * answer by grammar (see `outputPlan`); `logprobs` reports each token.
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
  /** Told once per request, when it ends (however it ends): what its answers cost together, for per-key accounting. */
  onUsage?: (usage: KeyUsage) => void | Promise<void>;
}): Promise<Response> {
  const unsupported = unsupportedParameter(req);
  if (unsupported) throw new OpenAiError(400, unsupported.message, unsupported.param, "unsupported_parameter");
  const plan = outputPlan(req);
  const engine = await engineOrUnavailable();
  if (req.model !== engine.model.id) {
    throw new OpenAiError(404, `The model '${req.model}' does not exist. This server serves '${engine.model.id}' (see GET /v1/models).`, "model", "model_not_found");
  }
  if (req.logprobs && engine.info.backend === "node-llama-cpp") {
    throw new OpenAiError(400, "logprobs are not available for this text-only model's in-process engine (node-llama-cpp); run it on llama-server.", "logprobs", "unsupported_parameter");
  }
  // Named adapters are checked before anything is stored: an unknown name is a 400 naming the available ones.
  if (req.adapters) engine.checkAdapters(req.adapters);
  const last = req.messages.at(-1);
  if (last?.role === "assistant") throw new OpenAiError(400, "The last message must not be the assistant's.", "messages", "invalid_value");
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
  const { messages, kinds } = await resolveMessages(userId, req.messages);
  // Extension: the request's adapters, else those ADAPTERS_AUTO turns on for what the messages show.
  const adapterChoice = req.adapters ?? autoAdapters(env.ADAPTERS_AUTO, kinds, engine.adapters());
  const usedAdapters = engine.checkAdapters(adapterChoice).map(({ name, scale }) => ({ name, scale }));
  const adaptersField = usedAdapters.length ? { adapters: usedAdapters } : {};
  const wanted = req.max_completion_tokens ?? req.max_tokens ?? env.MAX_ANSWER_TOKENS;
  const engineMessages = withToolsPrompt(
    messages.map((m) => m.engine),
    plan,
  );
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
  const n = req.n ?? 1;
  const topLogprobs = req.logprobs ? (req.top_logprobs ?? 0) : undefined;
  const stopWords = req.stop == null ? [] : Array.isArray(req.stop) ? req.stop : [req.stop];
  // One stop per choice (a stop sequence ends that answer only); the client leaving stops them all.
  const halts = Array.from({ length: n }, () => new AbortController());
  const onClientGone = () => halts.forEach((h) => h.abort());
  signal.addEventListener("abort", onClientGone, { once: true });
  if (signal.aborted) onClientGone(); // gone while the images were being stored
  // Parallel requests with the same opening would wait for each other on one
  // conversation's state while holding slots: only the first uses (and updates) it,
  // and of n choices only the first.
  const key = sessionKeyFor(userId, messages);
  const sessionKey = keysInUse.has(key) ? undefined : key;
  if (sessionKey) keysInUse.add(sessionKey);
  const streams = halts.map((halt, i) =>
    engine.generate({
      messages: engineMessages,
      sessionKey: i === 0 ? sessionKey : undefined,
      maxTokens,
      sampling: { temperature: req.temperature ?? 1, topP: req.top_p ?? 1, seed: req.seed == null ? undefined : req.seed + i },
      constraint: plan.kind === "text" ? undefined : plan.constraint,
      logprobs: topLogprobs,
      signal: halt.signal,
      adapters: adapterChoice,
    }),
  );
  const released = () => {
    signal.removeEventListener("abort", onClientGone);
    if (sessionKey) keysInUse.delete(sessionKey);
  };

  // The first event of every choice is awaited before any response goes out, so "busy"
  // (queue_full) is a 503 with Retry-After, never an error inside a 200 stream.
  const firsts = await Promise.allSettled(streams.map((s) => s.next()));
  const refused = firsts.find((f) => f.status === "rejected");
  if (refused) {
    onClientGone();
    await Promise.all(streams.map((s) => s.return(undefined).catch(() => {})));
    released();
    throw (refused as PromiseRejectedResult).reason;
  }
  async function* all(i: number) {
    const first = (firsts[i] as PromiseFulfilledResult<IteratorResult<GenerateEvent>>).value;
    if (!first.done) yield first.value;
    yield* streams[i]!;
  }

  /**
   * Runs choice i, handing released text (and the log-probabilities of the
   * tokens behind it) to `emit`; resolves with its usage, text and whether
   * a stop sequence ended it.
   */
  const run = async (i: number, emit: (text: string, logprobs: TokenLogprob[] | undefined) => void) => {
    const stops = new StopFilter(stopWords);
    let usage: GenerationUsage | undefined;
    let text = "";
    const logprobs: TokenLogprob[] = [];
    for await (const ev of all(i)) {
      if (ev.type === "delta") {
        const out = stops.push(ev.text);
        if (ev.logprobs) logprobs.push(...ev.logprobs);
        if (out || ev.logprobs) {
          text += out;
          emit(out, ev.logprobs);
        }
        if (stops.stopped) halts[i]!.abort();
      } else usage = ev.usage;
    }
    const rest = stops.flush();
    if (rest) {
      text += rest;
      emit(rest, undefined);
    }
    return { usage: usage!, text, logprobs, stopped: stops.stopped };
  };
  type Ran = Awaited<ReturnType<typeof run>>;

  /** After every choice ended: the usage told once, and the first answer stored when asked. */
  const settle = async (ran: Ran[], first: FinishedChoice | null) => {
    released();
    const sum = ran.reduce((a, r) => ({ promptTokens: a.promptTokens + r.usage.promptTokens, completionTokens: a.completionTokens + r.usage.completionTokens, reusedPromptTokens: a.reusedPromptTokens + r.usage.reusedPromptTokens }), {
      promptTokens: 0,
      completionTokens: 0,
      reusedPromptTokens: 0,
    });
    try {
      await onUsage?.({ promptTokens: sum.promptTokens, completionTokens: sum.completionTokens, images: imageCount });
    } catch (err) {
      console.error("[v1] usage not recorded:", err);
    }
    const u = ran[0]?.usage;
    if (req.store && !signal.aborted && u) {
      // A call's answer has no text (its JSON is the call); an answer that failed keeps what was written.
      const text = first ? (first.content ?? "") : ran[0]!.text;
      const parts: MessagePart[] = [
        ...(text ? [{ type: "text" as const, text }] : []),
        ...(first?.toolCalls ?? []).map((c) => ({ type: "tool-call" as const, id: c.id, name: c.function.name, arguments: c.function.arguments })),
      ];
      await saveExchange({
        userId,
        title: titleFrom(messages.find((m) => m.role === "user")?.parts ?? [], text),
        model,
        messages: messages.map((m) => ({ role: m.role, parts: m.parts })),
        answer: {
          text,
          parts: first?.toolCalls ? parts : undefined,
          status: u.finishReason === "error" ? "error" : "complete",
          error: u.error,
          stats: { promptTokens: u.promptTokens, reusedTokens: u.reusedPromptTokens, completionTokens: u.completionTokens, ttftMs: Math.round(u.ttftMs), tokensPerSecond: u.tokensPerSecond, ...(u.adapters ? { adapters: u.adapters } : {}) },
        },
      });
    }
    return sum;
  };
  const finished = (r: Ran) => finishChoice(plan, r.text, !r.stopped && r.usage.finishReason === "length");

  if (!req.stream) {
    let ran: Ran[] = [];
    let done: FinishedChoice[] = [];
    try {
      ran = await Promise.all(streams.map((_, i) => run(i, () => {})));
      const failed = ran.find((r) => r.usage.finishReason === "error");
      if (failed) throw new OpenAiError(503, failed.usage.error ?? "The model failed while answering.", null, "engine_error", 5);
      done = ran.map(finished);
    } finally {
      await settle(ran, done[0] ?? null);
    }
    const sum = ran.reduce((a, r) => ({ promptTokens: a.promptTokens + r.usage.promptTokens, completionTokens: a.completionTokens + r.usage.completionTokens, reusedPromptTokens: a.reusedPromptTokens + r.usage.reusedPromptTokens }), { promptTokens: 0, completionTokens: 0, reusedPromptTokens: 0 });
    return Response.json(
      {
        id,
        object: "chat.completion",
        created,
        model,
        system_fingerprint: null,
        choices: done.map((c, i) => ({
          index: i,
          message: { role: "assistant", content: c.content, refusal: null, ...(c.toolCalls ? { tool_calls: c.toolCalls } : {}) },
          logprobs: topLogprobs === undefined ? null : logprobsOf(ran[i]!.logprobs),
          finish_reason: c.finish,
        })),
        usage: usageOf(sum),
        ...adaptersField,
      },
      { headers: { "cache-control": "no-store" } },
    );
  }

  const chunk = (index: number, delta: Record<string, unknown>, finish: string | null, logprobs: TokenLogprob[] | null = null) => ({
    id,
    object: "chat.completion.chunk",
    created,
    model,
    system_fingerprint: null,
    choices: [{ index, delta, logprobs: logprobs ? logprobsOf(logprobs) : null, finish_reason: finish }],
  });
  const encoder = new TextEncoder();
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (s: string) => {
        if (!cancelled) controller.enqueue(encoder.encode(s));
      };
      const errorEvent = (message: string, code = "engine_error") => sse({ error: { message, type: "server_error", param: null, code } });
      const ran: Ran[] = [];
      let firstDone: FinishedChoice | null = null;
      try {
        for (let i = 0; i < n; i++) send(sse({ ...chunk(i, { role: "assistant", content: "" }, null), ...adaptersField }));
        // Free text and JSON stream as written. A tools answer is sent when it ends (a call as OpenAI
        // streams one: id and name, then the arguments), except the text of an auto answer's
        // response, which streams as written once the answer shows it is one.
        const buffered = plan.kind === "tools";
        const responses = streams.map(() => (plan.kind === "tools" && plan.mode.kind === "auto" ? new ResponseText() : null));
        let failure: string | null = null;
        let failureCode = "engine_error";
        await Promise.all(
          streams.map(async (_, i) => {
            const r = await run(i, (text, logprobs) => {
              if (!buffered) send(sse(chunk(i, { content: text }, null, logprobs ?? null)));
              const answer = responses[i]?.push(text);
              if (answer) send(sse(chunk(i, { content: answer }, null)));
            });
            ran[i] = r;
            if (r.usage.finishReason === "error") {
              failure ??= r.usage.error ?? "The model failed while answering.";
              return;
            }
            if (r.usage.finishReason === "aborted" && !r.stopped) return;
            let c: FinishedChoice;
            try {
              c = finished(r);
            } catch (err) {
              failure ??= (err as Error).message;
              failureCode = "invalid_model_output";
              return;
            }
            if (i === 0) firstDone = c;
            if (buffered && c.toolCalls) {
              for (const [k, call] of c.toolCalls.entries()) {
                send(sse(chunk(i, { tool_calls: [{ index: k, id: call.id, type: "function", function: { name: call.function.name, arguments: "" } }] }, null)));
                for (const piece of fragments(call.function.arguments)) send(sse(chunk(i, { tool_calls: [{ index: k, function: { arguments: piece } }] }, null)));
              }
            } else if (buffered && c.content && responses[i]?.kind !== "response") send(sse(chunk(i, { content: c.content }, null, topLogprobs === undefined ? null : r.logprobs)));
            send(sse(chunk(i, {}, c.finish)));
          }),
        );
        const sum = await settle(ran, firstDone);
        if (failure) send(errorEvent(failure, failureCode));
        else if (req.stream_options?.include_usage) send(sse({ id, object: "chat.completion.chunk", created, model, system_fingerprint: null, choices: [], usage: usageOf(sum) }));
        send("data: [DONE]\n\n");
        if (!cancelled) controller.close();
      } catch (err) {
        const message = err instanceof EngineError || err instanceof OpenAiError ? err.message : "The model failed while answering.";
        if (!(err instanceof EngineError || err instanceof OpenAiError)) console.error("[v1] stream failed:", err);
        released();
        try {
          send(errorEvent(message));
          send("data: [DONE]\n\n");
          controller.close();
        } catch {
          /* the client is gone */
        }
      }
    },
    cancel() {
      cancelled = true;
      onClientGone();
    },
  });
  return new Response(body, {
    // no-transform: compression (Next's, or a proxy's) would hold tokens back in its buffer.
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store, no-transform", connection: "keep-alive", "x-accel-buffering": "no" },
  });
}
