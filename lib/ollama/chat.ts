import "server-only";
import { createChatCompletion, type KeyUsage } from "@/lib/openai/chat-completions";
import { completionEvents, type CompletionUsage } from "@/lib/openai/completion-events";
import { OpenAiError } from "@/lib/openai/errors";
import { chatCompletionRequestSchema } from "@/lib/openai/schema";
import { translatedError } from "@/lib/openai/translated-error";
import { chatModelOrThrow } from "./models";
import type { OllamaChatRequest, OllamaGenerateRequest, OllamaMessage } from "./schema";

type ChatMessage = { role: string; content: unknown; tool_calls?: unknown[]; tool_call_id?: string };
type Shape = "chat" | "generate";

interface Answer {
  userId: string;
  signal: AbortSignal;
  /** Told once per answer, when it ends: what it cost, for per-key accounting (see createChatCompletion). */
  onUsage?: (usage: KeyUsage) => void | Promise<void>;
}

/**
 * `POST /api/chat` in Ollama's shape, answered by `createChatCompletion`:
 * NDJSON pieces as they are written (Ollama's default), or one object
 * (`stream: false`), ending with Ollama's counts and durations.
 */
export async function ollamaChat({ req, ...rest }: Answer & { req: OllamaChatRequest }): Promise<Response> {
  const messages: ChatMessage[] = [];
  const origins: string[] = [];
  // Ollama's tool calls carry no ids: a tool message answers the oldest open call of its name (or the oldest).
  let open: { id: string; name: string }[] = [];
  for (const [i, m] of req.messages.entries()) {
    origins.push(`messages.${i}`);
    if (m.role === "tool") {
      const k = Math.max(0, open.findIndex((c) => c.name === m.tool_name));
      const call = open.splice(k, 1)[0];
      messages.push({ role: "tool", tool_call_id: call?.id ?? `call_${i}`, content: m.content });
    } else if (m.role === "assistant" && m.tool_calls?.length) {
      const calls = m.tool_calls.map((c, j) => ({
        id: `call_${i}_${j}`,
        type: "function",
        function: { name: c.function.name, arguments: typeof c.function.arguments === "string" ? c.function.arguments : JSON.stringify(c.function.arguments) },
      }));
      open = calls.map((c) => ({ id: c.id, name: c.function.name }));
      messages.push({ role: "assistant", content: m.content || null, tool_calls: calls });
    } else messages.push(withImages(m.role, m.content, m.images));
  }
  const tools = req.tools?.map((t) => ({ type: "function", function: { name: t.function.name, description: t.function.description ?? undefined, parameters: t.function.parameters ?? undefined } }));
  return answer({ ...rest, req, shape: "chat", messages, origins, extra: { tools } });
}

/** `POST /api/generate` in Ollama's shape: one prompt (and its images) answered as `/api/chat` answers. */
export async function ollamaGenerate({ req, ...rest }: Answer & { req: OllamaGenerateRequest }): Promise<Response> {
  if (req.suffix) throw new OpenAiError(400, "suffix (fill-in-the-middle) is not supported by this server.", "suffix", "unsupported_parameter");
  if (req.context?.length) throw new OpenAiError(400, "context is not supported by this server: send the conversation to /api/chat instead.", "context", "unsupported_parameter");
  const messages: ChatMessage[] = [];
  const origins: string[] = [];
  if (req.system) {
    messages.push({ role: "system", content: req.system });
    origins.push("system");
  }
  if (req.prompt || req.images?.length) {
    messages.push(withImages("user", req.prompt, req.images));
    origins.push(req.images?.length ? "images" : "prompt");
  }
  return answer({ ...rest, req, shape: "generate", messages, origins });
}

/** Ollama's raw base64 images become data: URIs; what they are is read from their bytes when stored. */
const dataUri = (image: string) => (image.startsWith("data:") ? image : `data:application/octet-stream;base64,${image}`);

function withImages(role: string, text: string, images: OllamaMessage["images"]): ChatMessage {
  if (!images?.length) return { role, content: text };
  return { role, content: [...images.map((img) => ({ type: "image_url", image_url: { url: dataUri(img) } })), ...(text ? [{ type: "text", text }] : [])] };
}

const ns = (ms: number) => Math.round(ms * 1e6);

async function answer({
  userId,
  signal,
  onUsage,
  req,
  shape,
  messages,
  origins,
  extra = {},
}: Answer & { req: OllamaChatRequest | OllamaGenerateRequest; shape: Shape; messages: ChatMessage[]; origins: string[]; extra?: Record<string, unknown> }): Promise<Response> {
  const started = performance.now();
  const engine = await chatModelOrThrow(req.model);
  const created_at = () => new Date().toISOString();
  const model = req.model;
  const piece = (text: string) =>
    shape === "chat" ? { model, created_at: created_at(), message: { role: "assistant", content: text }, done: false } : { model, created_at: created_at(), response: text, done: false };

  // Nothing to answer: Ollama loads the model and says so (clients do this to warm a model up).
  if (!messages.some((m) => m.role === "user" || m.role === "tool")) {
    const done = { ...piece(""), done: true, done_reason: "load" };
    return req.stream ? ndjson(new Blob([JSON.stringify(done) + "\n"]).stream()) : Response.json(done);
  }

  const o = req.options ?? {};
  const limits = [o.num_predict != null && o.num_predict > 0 ? o.num_predict : Infinity, o.num_ctx ?? Infinity];
  const format = req.format;
  const chat = {
    model: engine.model.id,
    messages,
    stream: true,
    stream_options: { include_usage: true },
    max_completion_tokens: Math.min(...limits) === Infinity ? undefined : Math.min(...limits),
    // Ollama's defaults, which its clients expect when they send none.
    temperature: o.temperature ?? 0.8,
    top_p: o.top_p ?? 0.9,
    seed: o.seed ?? undefined,
    stop: o.stop ?? undefined,
    response_format: !format ? undefined : format === "json" ? { type: "json_object" } : { type: "json_schema", json_schema: { name: "format", schema: format, strict: true } },
    ...extra,
  };
  let res: Response;
  try {
    res = await createChatCompletion({ userId, req: chatCompletionRequestSchema.parse(chat), signal, onUsage });
  } catch (err) {
    throw translatedError(err, (p) => paramFor(p, origins, shape));
  }

  const events = completionEvents(res.body!);
  let firstAt: number | undefined;
  let text = "";
  let finish = "stop";
  let usage: CompletionUsage | undefined;
  const calls = new Map<number, { name: string; arguments: string }>();
  /** The next NDJSON object to send, or null when there is none yet; "end" once the final one went out. */
  const next = async (): Promise<Record<string, unknown> | null | "end"> => {
    const r = await events.next();
    if (r.done) return "end";
    const ev = r.value;
    firstAt ??= ev.type === "text" || ev.type === "tool_call" ? performance.now() : undefined;
    switch (ev.type) {
      case "text":
        text += ev.text;
        return piece(ev.text);
      case "tool_call": {
        const call = calls.get(ev.index) ?? { name: "", arguments: "" };
        calls.set(ev.index, { name: call.name + (ev.name ?? ""), arguments: call.arguments + ev.arguments });
        return null;
      }
      case "finish":
        finish = ev.reason === "length" ? "length" : "stop";
        return null;
      case "usage":
        usage = ev.usage;
        return null;
      case "error":
        throw new OpenAiError(503, ev.message, null, ev.code ?? "engine_error", 5);
    }
  };
  const final = (whole: boolean) => {
    const end = performance.now();
    const first = firstAt ?? end;
    const tool_calls = [...calls.values()].map((c) => ({ function: { name: c.name, arguments: parsedArguments(c.arguments) } }));
    const body = shape === "chat" ? { message: { role: "assistant", content: whole ? text : "", ...(tool_calls.length ? { tool_calls } : {}) } } : { response: whole ? text : "" };
    return {
      model,
      created_at: created_at(),
      ...body,
      done: true,
      done_reason: finish,
      total_duration: ns(end - started),
      // The model stays loaded while the server runs.
      load_duration: 0,
      prompt_eval_count: usage?.prompt_tokens ?? 0,
      prompt_eval_duration: ns(first - started),
      eval_count: usage?.completion_tokens ?? 0,
      eval_duration: ns(end - first),
    };
  };

  if (!req.stream) {
    for (let r = await next(); r !== "end"; r = await next());
    return Response.json(final(true), { headers: { "cache-control": "no-store" } });
  }

  const encoder = new TextEncoder();
  const line = (obj: unknown) => encoder.encode(JSON.stringify(obj) + "\n");
  return ndjson(
    new ReadableStream<Uint8Array>({
      // Pulled one piece at a time: a slow client holds the generation back, a gone one stops it (cancel).
      async pull(controller) {
        try {
          for (;;) {
            const r = await next();
            if (r === null) continue;
            if (r === "end") {
              controller.enqueue(line(final(false)));
              controller.close();
            } else controller.enqueue(line(r));
            return;
          }
        } catch (err) {
          // In-band, as Ollama does: its clients throw this message.
          if (!(err instanceof OpenAiError)) console.error("[ollama] stream failed:", err);
          controller.enqueue(line({ error: err instanceof OpenAiError ? err.message : "The model failed while answering." }));
          controller.close();
        }
      },
      async cancel() {
        await events.return(undefined);
      },
    }),
  );
}

const ndjson = (body: ReadableStream<Uint8Array>) =>
  new Response(body, { headers: { "content-type": "application/x-ndjson", "cache-control": "no-store, no-transform", "x-accel-buffering": "no" } });

/** Ollama sends a call's arguments as an object; text that is not JSON is kept as it is. */
function parsedArguments(args: string): unknown {
  try {
    return JSON.parse(args || "{}");
  } catch {
    return args;
  }
}

const renamed: Record<string, string> = {
  response_format: "format",
  max_completion_tokens: "options.num_predict",
  temperature: "options.temperature",
  top_p: "options.top_p",
  seed: "options.seed",
  stop: "options.stop",
};

function paramFor(chatParam: string, origins: string[], shape: Shape): string {
  if (renamed[chatParam]) return renamed[chatParam];
  // Ollama's format is the schema itself.
  if (chatParam.startsWith("response_format.")) return "format";
  const m = /^messages(?:\.(\d+))?(.*)$/.exec(chatParam);
  if (!m) return chatParam;
  const origin = m[1] === undefined ? (shape === "chat" ? "messages" : "prompt") : (origins[Number(m[1])] ?? "messages");
  return shape === "chat" && /image_url/.test(m[2]!) ? `${origin}.images` : origin;
}
