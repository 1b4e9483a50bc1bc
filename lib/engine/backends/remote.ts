import fs from "node:fs";
import { EngineError } from "../errors";
import { readSseJson, responseError } from "../sse";
import { finalUsage } from "../usage";
import { fromServerProbs, type ServerTokenProbs } from "../logprobs";
import type { Backend, BackendRequest, EngineMessage, GenerateEvent, LoadedModelInfo, ServerState } from "../types";

/** Pauses before sending a request again to the same server when its connection was reset before any answer, in ms. */
const RESEND_MS = [50, 250];

export interface RemoteOptions {
  /** Base URLs of OpenAI-compatible servers (`http://host:8080` or `http://host:11434/v1`). */
  urls: string[];
  /** Sent as `Authorization: Bearer …` to every server. */
  apiKey?: string;
  /** Context window assumed for budgeting, in tokens. */
  contextSize: number;
  /** Answers in flight at once across the fleet (the engine's slot pool). */
  slots: number;
  /** Why this engine, in plain words. */
  reason: string;
}

/** One server of the fleet. */
interface Peer {
  url: string;
  model: string;
  vision: boolean;
  inFlight: number;
  /** Taken out of rotation until this time (ms since epoch); 0 = healthy. */
  downUntil: number;
  failures: number;
  lastError?: string;
}

interface ChatChunk {
  choices?: { delta?: { content?: string | null }; finish_reason?: string | null; logprobs?: { content?: ServerTokenProbs[] | null } | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } } | null;
  /** llama-server's extension: its own prompt-cache figures. */
  timings?: { cache_n?: number; prompt_n?: number };
  error?: { message?: string };
}

/** Down time after consecutive failures, in ms (the last one repeats). */
const RETRY_MS = [2_000, 5_000, 15_000, 30_000, 60_000];
const PROBE_TIMEOUT_MS = 5_000;
/** Image cost assumed for budgeting when a server cannot tell (a typical 24×24-patch projector). */
const ASSUMED_IMAGE_TOKENS = 576;

/**
 * A fleet of OpenAI-compatible servers (llama-server, vLLM, Ollama's `/v1`)
 * reached over HTTP: how inference scales past one machine. Each request
 * goes to the healthy server with the fewest answers in flight; a server
 * that fails before answering is taken out for a while (backoff) and the
 * request moves to the next one.
 *
 * The servers apply their own chat templates, so prompts are sent as
 * messages (images as `data:` URLs), not as the engine's rendered text.
 */
/** Longest a request waits for a busy engine server (503/429) to take it, in ms. */
const BUSY_WAIT_MS = 30_000;

export class RemoteBackend implements Backend {
  private disposed = false;
  private readonly controllers = new Set<AbortController>();

  private constructor(
    private readonly peers: Peer[],
    private readonly opts: RemoteOptions,
  ) {}

  static async load(opts: RemoteOptions): Promise<RemoteBackend> {
    if (!opts.urls.length) throw new EngineError("load_failed", "ENGINE_URL names no server.");
    const peers = await Promise.all(opts.urls.map((u) => discover(normaliseUrl(u), opts.apiKey)));
    if (!peers.some((p) => p.downUntil === 0)) {
      // Addresses and errors go to the server log; users (and /api/health) get the gist.
      console.error(`[engine] no engine server answered: ${peers.map((p) => `${p.url} (${p.lastError})`).join("; ")}`);
      throw new EngineError("load_failed", `None of the ${peers.length} engine servers in ENGINE_URL answered (the server log says why).`);
    }
    return new RemoteBackend(peers, opts);
  }

  /** The first healthy server's model names the engine. */
  get model(): { id: string; vision: boolean } {
    const p = this.peers.find((x) => x.downUntil === 0 && x.model) ?? this.peers.find((x) => x.model)!;
    return { id: p.model, vision: p.vision };
  }

  get info(): LoadedModelInfo {
    const now = Date.now();
    const states = this.peers.map((p) =>
      p.downUntil > now ? `${p.url} down (${p.lastError}; retried in ${Math.ceil((p.downUntil - now) / 1000)} s)` : `${p.url} up, ${p.inFlight} in flight`,
    );
    return {
      backend: "remote",
      variant: "remote",
      variantReason: `${this.opts.reason}: ${states.join("; ")}`,
      gpuLayers: 0,
      contextSize: this.opts.contextSize,
      threads: 0,
      slots: this.opts.slots,
      vision: this.model.vision,
      imageTokens: ASSUMED_IMAGE_TOKENS,
      chatTemplate: "",
    };
  }

  servers(): ServerState[] {
    const now = Date.now();
    return this.peers.map((p) => ({ url: p.url, up: p.downUntil <= now, inFlight: p.inFlight, lastError: p.lastError }));
  }

  /** The healthy server with the fewest answers in flight; a server past its down time gets another chance. */
  private pick(exclude: Set<Peer>): Peer | undefined {
    const now = Date.now();
    const up = this.peers.filter((p) => !exclude.has(p) && p.downUntil <= now);
    return up.sort((a, b) => a.inFlight - b.inFlight)[0];
  }

  private markDown(peer: Peer, why: string) {
    peer.lastError = why;
    peer.downUntil = Date.now() + RETRY_MS[Math.min(peer.failures, RETRY_MS.length - 1)]!;
    peer.failures++;
    console.warn(`[engine] ${peer.url} taken out of rotation: ${why}`);
  }

  private markUp(peer: Peer) {
    peer.downUntil = 0;
    peer.failures = 0;
    peer.lastError = undefined;
  }

  async countTokens(prompt: string, images: string[]): Promise<number> {
    // The servers template the messages themselves; a conservative estimate
    // (3 bytes a token) keeps the context budget on the safe side.
    return Math.ceil(Buffer.byteLength(prompt) / 3) + images.length * ASSUMED_IMAGE_TOKENS;
  }

  async *generate(req: BackendRequest): AsyncGenerator<GenerateEvent> {
    if (this.disposed) throw new EngineError("disposed", "The model was unloaded.");
    const started = performance.now();
    const http = new AbortController();
    this.controllers.add(http);
    const onAbort = () => http.abort();
    req.signal?.addEventListener("abort", onAbort, { once: true });
    const tried = new Set<Peer>();
    let text = "";
    let tokens = 0;
    let firstTokenAt = 0;
    let finish: string | null = null;
    let usage: ChatChunk["usage"] = null;
    let timings: ChatChunk["timings"];
    let failure: string | null = null;
    try {
      const request = {
        messages: await toOpenAiMessages(req.messages),
        max_tokens: req.maxTokens,
        temperature: req.sampling.temperature,
        top_p: req.sampling.topP,
        ...(req.sampling.seed !== undefined ? { seed: req.sampling.seed } : {}),
        stream: true,
        stream_options: { include_usage: true },
        // The server constrains the answer itself (llama-server, vLLM and Ollama take a JSON schema here).
        ...(req.constraint ? { response_format: { type: "json_schema", json_schema: { name: "answer", schema: req.constraint.jsonSchema, strict: true } } } : {}),
        ...(req.logprobs !== undefined ? { logprobs: true, top_logprobs: req.logprobs } : {}),
      };
      /** Servers that answered "busy" (503, 429): working, only full. They are waited for, never taken out. */
      const busy = new Set<Peer>();
      let retryAfterMs = 500;
      const waitUntil = Date.now() + BUSY_WAIT_MS;
      for (;;) {
        let peer = this.pick(tried);
        if (!peer && busy.size && Date.now() < waitUntil && !http.signal.aborted) {
          // Every server that works is full: wait (as long as they asked, within the deadline) and ask again.
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, Math.min(retryAfterMs, Math.max(0, waitUntil - Date.now())));
            http.signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
          });
          if (http.signal.aborted) break;
          for (const p of busy) tried.delete(p);
          busy.clear();
          peer = this.pick(tried);
        }
        if (!peer && busy.size) {
          // Saturation is a "busy" (503 + Retry-After on the API) before anything was written, never an empty answer.
          throw new EngineError("queue_full", "Every engine server is busy. Try again in a few seconds.", 5);
        }
        if (!peer) {
          console.error(`[engine] no engine server reachable: ${this.peers.map((p) => `${p.url}: ${p.lastError ?? "busy"}`).join("; ")}`);
          failure = "No engine server is reachable right now. Try again in a moment.";
          break;
        }
        tried.add(peer);
        if (!peer.model) {
          // Down when the app started: ask again what it serves.
          const fresh = await discover(peer.url, this.opts.apiKey);
          if (!fresh.model) {
            this.markDown(peer, fresh.lastError ?? "no model");
            continue;
          }
          Object.assign(peer, { model: fresh.model, vision: fresh.vision });
        }
        peer.inFlight++;
        try {
          let res: Response | null = null;
          let failedWith: Error | null = null;
          for (const pause of [0, ...RESEND_MS]) {
            if (pause) await new Promise((r) => setTimeout(r, pause));
            try {
              res = await fetch(`${peer.url}/v1/chat/completions`, {
                method: "POST",
                headers: headers(this.opts.apiKey),
                body: JSON.stringify({ model: peer.model, ...request }),
                signal: http.signal,
              });
              break;
            } catch (err) {
              failedWith = err as Error;
              // A refused connection is a server that is not there; a reset one is usually a pooled
              // socket the server's keep-alive timer closed as we sent (it works): sent again, to it.
              if (http.signal.aborted || /ECONNREFUSED|EHOSTUNREACH|ENOTFOUND/.test(String((failedWith as Error & { cause?: { code?: string } }).cause?.code ?? ""))) break;
            }
          }
          if (!res) {
            if (http.signal.aborted) break;
            const err = failedWith!;
            this.markDown(peer, err.cause ? String((err as Error & { cause: Error }).cause.message) : err.message);
            continue; // nothing was sent to the user yet: try the next server
          }
          if (res.status === 503 || res.status === 429) {
            const seconds = Number(res.headers.get("retry-after"));
            retryAfterMs = Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds * 1000, 5000) : 500;
            await res.body?.cancel().catch(() => {});
            busy.add(peer);
            continue;
          }
          if (res.status >= 500) {
            this.markDown(peer, await responseError(res));
            continue;
          }
          if (!res.ok) {
            failure = `The engine server refused the request: ${await responseError(res)}`;
            break;
          }
          this.markUp(peer);
          try {
            for await (const chunk of readSseJson<ChatChunk>(res.body!)) {
              if (http.signal.aborted) break;
              if (chunk.error) {
                // The server works; this request failed there (e.g. too long a prompt).
                failure = `The engine server could not answer: ${chunk.error.message ?? "server error"}`;
                break;
              }
              const choice = chunk.choices?.[0];
              const piece = choice?.delta?.content;
              const logprobs = req.logprobs !== undefined && choice?.logprobs?.content?.length ? fromServerProbs(choice.logprobs.content, req.logprobs) : undefined;
              if (piece || logprobs) {
                if (!firstTokenAt) firstTokenAt = performance.now();
                tokens++;
                text += piece ?? "";
                yield { type: "delta", text: piece ?? "", ...(logprobs ? { logprobs } : {}) };
              }
              if (choice?.finish_reason) finish = choice.finish_reason;
              if (chunk.usage) usage = chunk.usage;
              if (chunk.timings) timings = chunk.timings;
            }
            if (!failure && !finish && !http.signal.aborted) throw new Error("the stream ended before the answer did");
          } catch (err) {
            if (!http.signal.aborted) {
              failure = "An engine server failed while answering. Send the message again.";
              this.markDown(peer, (err as Error).message);
            }
          }
          break;
        } finally {
          peer.inFlight--;
        }
      }
      const aborted = http.signal.aborted && !failure;
      const promptTokens = usage?.prompt_tokens ?? (timings ? (timings.cache_n ?? 0) + (timings.prompt_n ?? 0) : 0);
      const reused = timings?.cache_n ?? usage?.prompt_tokens_details?.cached_tokens ?? 0;
      const result = finalUsage({
        started,
        firstTokenAt,
        streamedTokens: tokens,
        promptTokens,
        reusedPromptTokens: reused,
        evaluatedPromptTokens: Math.max(0, promptTokens - reused),
        completionTokens: usage?.completion_tokens ?? tokens,
        finishReason: failure ? "error" : aborted ? "aborted" : finish === "length" ? "length" : "stop",
        text,
        error: failure ?? undefined,
      });
      yield { type: "done", usage: result };
    } finally {
      req.signal?.removeEventListener("abort", onAbort);
      http.abort();
      this.controllers.delete(http);
    }
  }

  async forgetSession(): Promise<void> {
    // Remote servers keep their own caches; nothing of ours to drop.
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    for (const c of this.controllers) c.abort();
  }
}

/** `http://h:8080/`, `http://h:8080/v1` → `http://h:8080`. */
export function normaliseUrl(u: string): string {
  return u.trim().replace(/\/+$/, "").replace(/\/v1$/, "");
}

function headers(apiKey?: string): Record<string, string> {
  return { "content-type": "application/json", ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) };
}

/** Asks a server for its model and whether it sees images (llama-server's /props or /v1/models capabilities). */
async function discover(url: string, apiKey?: string): Promise<Peer> {
  const peer: Peer = { url, model: "", vision: false, inFlight: 0, downUntil: 0, failures: 0 };
  try {
    const res = await fetch(`${url}/v1/models`, { headers: headers(apiKey), signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    if (!res.ok) throw new Error(await responseError(res));
    const body = (await res.json()) as { data?: { id: string }[]; models?: { capabilities?: string[] }[] };
    peer.model = body.data?.[0]?.id ?? "";
    if (!peer.model) throw new Error("it lists no model");
    peer.vision = Boolean(body.models?.[0]?.capabilities?.some((c) => c === "multimodal" || c === "vision"));
    if (!peer.vision) {
      const props = await fetch(`${url}/props`, { headers: headers(apiKey), signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) }).catch(() => null);
      if (props?.ok) peer.vision = Boolean(((await props.json()) as { modalities?: { vision?: boolean } }).modalities?.vision);
    }
  } catch (err) {
    peer.lastError = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
    peer.downUntil = Date.now() + RETRY_MS[0]!;
    peer.failures = 1;
  }
  return peer;
}

const mediaType = (bytes: Buffer) => (bytes[0] === 0x89 && bytes[1] === 0x50 ? "image/png" : bytes[0] === 0xff && bytes[1] === 0xd8 ? "image/jpeg" : bytes.subarray(8, 12).toString("latin1") === "WEBP" ? "image/webp" : "image/gif");

/** OpenAI chat messages; images (normalised files) become `data:` URLs placed before the text, as in our own prompts. */
async function toOpenAiMessages(messages: EngineMessage[]) {
  return Promise.all(
    messages.map(async (m) => {
      if (!m.images?.length) return { role: m.role, content: m.text };
      const parts = await Promise.all(
        m.images.map(async (p) => {
          const bytes = await fs.promises.readFile(p);
          return { type: "image_url", image_url: { url: `data:${mediaType(bytes)};base64,${bytes.toString("base64")}` } };
        }),
      );
      return { role: m.role, content: [...parts, ...(m.text ? [{ type: "text", text: m.text }] : [])] };
    }),
  );
}
