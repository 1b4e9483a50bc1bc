import fs from "node:fs";
import path from "node:path";
import { EngineError } from "../errors";
import { KeyedMutex } from "../keyed-mutex";
import { writeProbeImage } from "../probe-image";
import { finalUsage } from "../usage";
import { LlamaServerProcess, type SupervisorOptions } from "../llama-server/supervisor";
import { SessionStore } from "../sessions";
import { readSseJson, responseError } from "../sse";
import { IMAGE_MARKER, type Backend, type BackendRequest, type GenerateEvent, type LoadedModelInfo, type ServerState } from "../types";

export interface LlamaServerBackendOptions extends Omit<SupervisorOptions, "pidFile" | "slotSaveDir"> {
  chatTemplate: string;
  /** Folder for conversation states (`--slot-save-path`); kept across restarts of either process. */
  stateDir: string;
  /** Byte budget for saved states. Default 2 GiB. */
  sessionBudgetBytes?: number;
  /** GPU backends the binary was built with ("cuda", "vulkan"); empty for a CPU-only build. */
  gpuBuild: string[];
  /** Why this engine and variant, in plain words (shown by /api/health). */
  reason: string;
}

/** Longest a slot save may take before the slot is given back unsaved. */
const SAVE_TIMEOUT_MS = 30_000;

/** The native `/completion` stream: one object per token, then a final one with `stop: true`. */
interface CompletionEvent {
  content?: string;
  stop?: boolean;
  stop_type?: "none" | "eos" | "limit" | "word";
  tokens_predicted?: number;
  timings?: { cache_n?: number; prompt_n?: number; predicted_n?: number };
  error?: { message?: string } | string;
}

interface SlotState {
  /** The conversation whose state the slot's KV cache holds. */
  key?: string;
  busy: boolean;
  usedAt: number;
}

/**
 * llama.cpp's own server as a backend: the app starts and supervises it
 * (`LlamaServerProcess`) and talks to it over loopback HTTP.
 *
 * It uses the native `/completion` endpoint, not `/v1/chat/completions`,
 * because only `/completion` takes an already rendered prompt string (so
 * every backend sees byte-identical text and greedy answers match), a fixed
 * `id_slot` (conversation affinity: a follow-up lands on the slot that holds
 * its KV cache), and reports `timings.cache_n` (reused prompt tokens).
 *
 * Conversation state: after each turn the slot is saved (`/slots/N?action=save`,
 * image chunks included) into a per-model folder; when a conversation comes
 * back to a slot that holds another one — or after either process restarted —
 * its file is restored first, so earlier turns and images are not evaluated
 * or encoded again.
 */
export class LlamaServerBackend implements Backend {
  private readonly slots: SlotState[];
  private generation = 0;
  private disposed = false;
  private readonly locks = new KeyedMutex();

  private constructor(
    readonly info: LoadedModelInfo,
    readonly server: LlamaServerProcess,
    private readonly store: SessionStore,
  ) {
    this.slots = Array.from({ length: info.slots }, () => ({ busy: false, usedAt: 0 }));
    this.generation = server.generation;
  }

  get pid(): number | undefined {
    return this.server.pid;
  }

  servers(): ServerState[] {
    const up = this.server.state === "ready";
    return [{ url: this.server.url, up, inFlight: this.slots.filter((s) => s.busy).length, lastError: up ? undefined : (this.server.lastExit ?? undefined) }];
  }

  static async load(opts: LlamaServerBackendOptions): Promise<LlamaServerBackend> {
    fs.mkdirSync(opts.stateDir, { recursive: true });
    // States saved for other model files can never be restored into this one.
    const root = path.dirname(opts.stateDir);
    for (const d of fs.readdirSync(root, { withFileTypes: true })) {
      if (d.isDirectory() && d.name !== path.basename(opts.stateDir)) fs.rmSync(path.join(root, d.name), { recursive: true, force: true });
    }
    const server = await LlamaServerProcess.start({
      ...opts,
      slotSaveDir: opts.stateDir,
      pidFile: path.join(opts.stateDir, "..", "llama-server.pid"),
    });
    try {
      const gpuLayers = server.offloadedLayers;
      const variant = gpuLayers > 0 ? (opts.gpuBuild[0] ?? "gpu") : "cpu";
      const props = (await (await fetch(`${server.url}/props`, { headers: server.headers() })).json()) as { modalities?: { vision?: boolean } };
      const vision = Boolean(opts.mmprojPath && props.modalities?.vision);
      if (opts.mmprojPath && !vision) throw new EngineError("load_failed", `llama-server did not load the vision projector ${path.basename(opts.mmprojPath)}.`);
      const info: LoadedModelInfo = {
        backend: "llama-server",
        variant,
        variantReason:
          opts.gpuLayers > 0 && gpuLayers === 0
            ? `${opts.reason}; CPU: llama-server found no usable GPU (${opts.gpuBuild.length ? `built with ${opts.gpuBuild.join(", ")}` : "CPU-only build"})`
            : opts.reason,
        gpuLayers,
        contextSize: opts.contextSize,
        threads: opts.threads,
        slots: opts.slots,
        vision,
        imageTokens: 0,
        chatTemplate: opts.chatTemplate,
      };
      const backend = new LlamaServerBackend(info, server, new SessionStore(opts.stateDir, opts.sessionBudgetBytes, true));
      // Encoding one image at load measures the image cost and pays the
      // vision path's first-use cost (GPU pipeline compilation) before a user does.
      if (vision) info.imageTokens = await backend.reportedImageTokens(writeProbeImage(path.join(opts.stateDir, "..", "probe.png")));
      return backend;
    } catch (err) {
      await server.stop();
      throw err;
    }
  }

  private async post(route: string, body: unknown, signal?: AbortSignal): Promise<Response> {
    return fetch(`${this.server.url}${route}`, {
      method: "POST",
      headers: this.server.headers({ "content-type": "application/json" }),
      body: JSON.stringify(body),
      signal,
    });
  }

  private async tokenize(content: string, addSpecial: boolean): Promise<number> {
    let res: Response;
    try {
      await this.server.ready();
      res = await this.post("/tokenize", { content, add_special: addSpecial, parse_special: true });
    } catch (err) {
      if (err instanceof EngineError) throw err;
      throw new EngineError("load_failed", "The model server is restarting. Try again in a moment.", 10);
    }
    if (!res.ok) throw new EngineError("load_failed", `llama-server could not tokenize: ${await responseError(res)}`);
    return ((await res.json()) as { tokens: unknown[] }).tokens.length;
  }

  /** Encodes the image once (n_predict 0: the prompt is evaluated, nothing generated) and counts. */
  async reportedImageTokens(file: string): Promise<number> {
    const res = await this.post("/completion", {
      prompt: { prompt_string: `a${IMAGE_MARKER}b`, multimodal_data: [fs.readFileSync(file).toString("base64")] },
      n_predict: 0,
      cache_prompt: false,
      id_slot: 0,
      // n_predict 0 still samples one token, and llama-server answers 500 when that token is half a
      // UTF-8 character ("output that does not match the expected Content-only format"): keep it ASCII.
      grammar: "root ::= [a-z]*",
    });
    if (!res.ok) throw new EngineError("load_failed", `llama-server could not encode a probe image: ${await responseError(res)}`);
    const r = (await res.json()) as CompletionEvent & { tokens_evaluated?: number };
    const total = r.tokens_evaluated ?? (r.timings?.prompt_n ?? 0) + (r.timings?.cache_n ?? 0);
    const text = (await this.tokenize("a", true)) + (await this.tokenize("b", false));
    if (total <= text) throw new EngineError("load_failed", "Could not measure the image token cost on llama-server.");
    return total - text;
  }

  async countTokens(prompt: string, images: string[], imageCosts?: number[]): Promise<number> {
    // mtmd tokenises the text between images separately; only the first piece gets BOS.
    const pieces = prompt.split(IMAGE_MARKER);
    const counts = await Promise.all(pieces.map((p, i) => (p || i === 0 ? this.tokenize(p, i === 0) : 0)));
    const imageTokens = images.reduce((sum, _, i) => sum + (imageCosts?.[i] ?? this.info.imageTokens), 0);
    return counts.reduce((a, b) => a + b, 0) + imageTokens;
  }

  /** A free slot: the one holding this conversation, else an empty one, else the least recently used. */
  private takeSlot(key: string | undefined): number {
    if (this.server.generation !== this.generation) {
      // A restarted server has empty slots.
      this.generation = this.server.generation;
      for (const s of this.slots) s.key = undefined;
    }
    const free = this.slots.map((s, i) => ({ s, i })).filter(({ s }) => !s.busy);
    if (!free.length) throw new EngineError("queue_full", "Every llama-server slot is busy.", 5);
    const pick =
      (key ? free.find(({ s }) => s.key === key) : undefined) ??
      free.find(({ s }) => s.key === undefined) ??
      free.sort((a, b) => a.s.usedAt - b.s.usedAt)[0]!;
    pick.s.busy = true;
    pick.s.usedAt = Date.now();
    return pick.i;
  }

  /** Puts `key`'s saved state into `slot` unless it is already there. */
  private async bringState(slot: number, key: string | undefined, signal?: AbortSignal) {
    const s = this.slots[slot]!;
    if (s.key === key) return;
    s.key = key;
    const file = key ? this.store.lookup(key) : undefined;
    if (!file) return;
    const res = await this.post(`/slots/${slot}?action=restore`, { filename: path.basename(file) }, signal);
    if (!res.ok) {
      // A stale or foreign file only costs a full prompt evaluation.
      console.warn(`[engine] could not restore a saved conversation state: ${await responseError(res)}`);
      this.store.remove(key!);
    }
  }

  private async saveState(slot: number, key: string) {
    // A server that hangs must not hold the slot and the conversation forever.
    const res = await this.post(`/slots/${slot}?action=save`, { filename: this.store.fileName(key) }, AbortSignal.timeout(SAVE_TIMEOUT_MS));
    if (res.ok) this.store.commit(key);
    else console.warn(`[engine] could not save a conversation state: ${await responseError(res)}`);
  }

  async *generate(req: BackendRequest): AsyncGenerator<GenerateEvent> {
    if (this.disposed) throw new EngineError("disposed", "The model was unloaded.");
    if (req.images.length && !this.info.vision) throw new EngineError("no_vision", "This model cannot see images.");
    const release = req.sessionKey ? await this.locks.acquire(req.sessionKey) : () => {};
    let slot = -1;
    const started = performance.now();
    let text = "";
    let tokens = 0;
    let firstTokenAt = 0;
    let final: CompletionEvent | null = null;
    let failure: string | null = null;
    const http = new AbortController();
    const onAbort = () => http.abort();
    req.signal?.addEventListener("abort", onAbort, { once: true });
    // Stopped while waiting for the conversation's lock: the listener came too late.
    if (req.signal?.aborted) http.abort();
    /** The slot now holds this conversation's prompt (and answer): worth saving. */
    let save = false;
    /** The server process the slot belongs to; a restart in between makes the slot someone else's. */
    let generation = -1;
    try {
      try {
        await this.server.ready(http.signal);
        slot = this.takeSlot(req.sessionKey);
        generation = this.server.generation;
        await this.bringState(slot, req.sessionKey, http.signal);
        const res = await this.post("/completion", await this.body(req, slot), http.signal);
        if (!res.ok) throw new EngineError("load_failed", `llama-server refused the request: ${await responseError(res)}`);
        save = Boolean(req.sessionKey);
        for await (const ev of readSseJson<CompletionEvent>(res.body!)) {
          // Tokens already on the wire when the user stopped are not shown.
          if (http.signal.aborted) break;
          if (ev.error) throw new EngineError("load_failed", `llama-server: ${typeof ev.error === "string" ? ev.error : ev.error.message}`);
          if (ev.content) {
            if (!firstTokenAt) firstTokenAt = performance.now();
            tokens++;
            text += ev.content;
            yield { type: "delta", text: ev.content };
          }
          if (ev.stop) final = ev;
        }
        if (!final && !http.signal.aborted) failure = await this.crashMessage();
      } catch (err) {
        if (!http.signal.aborted) failure = err instanceof EngineError ? err.message : await this.crashMessage();
      }
      if ((failure || !save) && slot >= 0) {
        // Failed, or aborted before the prompt reached the slot: its cache matches nothing we know.
        this.slots[slot]!.key = undefined;
        save = false;
      }
      const aborted = http.signal.aborted && !failure;
      const reused = final?.timings?.cache_n ?? 0;
      const evaluated = final?.timings?.prompt_n ?? 0;
      const usage = finalUsage({
        started,
        firstTokenAt,
        streamedTokens: tokens,
        promptTokens: reused + evaluated,
        reusedPromptTokens: reused,
        evaluatedPromptTokens: evaluated,
        completionTokens: final?.tokens_predicted ?? tokens,
        finishReason: failure ? "error" : aborted ? "aborted" : final?.stop_type === "limit" ? "length" : "stop",
        text,
        error: failure ?? undefined,
      });
      yield { type: "done", usage };
    } finally {
      req.signal?.removeEventListener("abort", onAbort);
      // A consumer that stopped iterating early also stops the server's work.
      http.abort();
      // Saved after `done` went out, so the answer's end is not delayed by
      // the write; the slot stays ours until the state is on disk.
      if (save && this.slots[slot]!.key === req.sessionKey && this.server.generation === generation && this.server.state === "ready") {
        await this.saveState(slot, req.sessionKey!).catch(() => {});
      }
      if (slot >= 0) this.slots[slot]!.busy = false;
      release();
    }
  }

  private async body(req: BackendRequest, slot: number) {
    // Read off the event loop: images are up to several MB and other answers are streaming.
    const images = await Promise.all(req.images.map(async (p) => (await fs.promises.readFile(p)).toString("base64")));
    const prompt = req.images.length ? { prompt_string: req.prompt, multimodal_data: images } : req.prompt;
    return {
      prompt,
      n_predict: req.maxTokens,
      temperature: req.sampling.temperature,
      top_k: req.sampling.topK,
      top_p: req.sampling.topP,
      seed: req.sampling.seed ?? -1,
      // Neutral values for every other sampler, as on the in-process backends.
      min_p: 0,
      typical_p: 1,
      repeat_penalty: 1,
      repeat_last_n: 0,
      presence_penalty: 0,
      frequency_penalty: 0,
      dry_multiplier: 0,
      xtc_probability: 0,
      top_n_sigma: -1,
      mirostat: 0,
      stream: true,
      cache_prompt: Boolean(req.sessionKey),
      id_slot: slot,
    };
  }

  /** Plain words for a connection that broke mid-answer (usually: the server process died). */
  private async crashMessage(): Promise<string> {
    // The exit event may land a moment after the socket closed.
    for (let i = 0; i < 20 && this.server.state === "ready"; i++) await new Promise((r) => setTimeout(r, 25));
    return this.server.state === "ready"
      ? "The connection to the model server broke while answering. Try again."
      : `The model server stopped while answering (${this.server.lastExit ?? "unknown reason"}). It is being restarted; send the message again in a moment.`;
  }

  async forgetSession(sessionKey: string): Promise<void> {
    const release = await this.locks.acquire(sessionKey);
    try {
      this.store.remove(sessionKey);
      const slot = this.slots.findIndex((s) => s.key === sessionKey);
      if (slot >= 0) {
        this.slots[slot]!.key = undefined;
        await this.post(`/slots/${slot}?action=erase`, {}).catch(() => {});
      }
    } finally {
      release();
    }
  }

  /** Stops llama-server. Saved conversation states stay on disk for the next start. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.server.stop();
  }
}

