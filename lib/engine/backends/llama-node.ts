import fs from "node:fs";
import path from "node:path";
import {
  addNativeLogListener,
  getBackendDevicesInfo,
  loadModel,
  toggleNativeLog,
  type LlamaParallelCompletionResult,
} from "@fugood/llama.node";
import { AdapterGate } from "../adapter-gate";
import { adapterSignature, type AdapterUse } from "../adapters";
import { AsyncQueue } from "../async-queue";
import { EngineError } from "../errors";
import { explainGpuProblem, probeGpu } from "../gpu";
import { KeyedMutex } from "../keyed-mutex";
import { writeProbeImage } from "../probe-image";
import { isAudioPath, writeProbeAudio } from "../audio-input";
import { finalUsage } from "../usage";
import { fromBindingToken, type BindingToken } from "../logprobs";
import { conversationOf, SessionStore } from "../sessions";
import { IMAGE_MARKER, type Backend, type BackendRequest, type GenerateEvent, type LoadedModelInfo, type TokenLogprob } from "../types";

type LlamaContext = Awaited<ReturnType<typeof loadModel>>;
type Variant = "default" | "cuda" | "vulkan";

export interface LlamaNodeOptions {
  modelPath: string;
  mmprojPath?: string;
  /** `auto` picks CUDA, then Vulkan, only when the variant really loads and sees a GPU. */
  gpu: "auto" | "cuda" | "vulkan" | "cpu";
  /** `auto` offloads every layer when a GPU variant is in use. */
  gpuLayers: "auto" | number;
  /** Tokens of context per slot. */
  contextSize: number;
  threads: number;
  /** Conversations decoded at once. */
  slots: number;
  /** Folder for saved conversation states. */
  sessionDir: string;
  /** Byte budget for saved states. Default 2 GiB. */
  sessionBudgetBytes?: number;
  chatTemplate: string;
  /**
   * BOS token text, when the model wants BOS. llama.node's parallel mode
   * adds BOS itself only for prompts with media, so text-only prompts get it
   * here (parsed as a special token).
   */
  bosText?: string;
  onProgress?: (fraction: number) => void;
  /** LoRA adapters the catalog paired with the model (each is test-loaded once at load). Default none. */
  adapters?: { name: string; path: string }[];
}

// The native log is global to the process and keeps it alive while on, so
// it is on only while at least one context is open.
let logUsers = 0;
const recentLog: string[] = [];
let logListener: { remove: () => void } | null = null;
async function nativeLog(on: boolean) {
  logUsers += on ? 1 : -1;
  if (on && logUsers === 1) {
    logListener = addNativeLogListener((_level, text) => {
      recentLog.push(text);
      if (recentLog.length > 200) recentLog.shift();
    });
    await toggleNativeLog(true);
  } else if (!on && logUsers === 0) {
    await toggleNativeLog(false);
    logListener?.remove();
    logListener = null;
  }
}

/** Picks the binding variant and says why, trying GPU variants only where their libraries exist. */
async function chooseVariant(gpu: LlamaNodeOptions["gpu"]): Promise<{ variant: Variant; reason: string }> {
  if (gpu === "cpu") return { variant: "default", reason: "GPU=cpu" };
  const probe = probeGpu();
  const reasons: string[] = [];
  const tryVariant = async (variant: "cuda" | "vulkan") => {
    const missing = explainGpuProblem(variant, probe);
    if (missing) {
      reasons.push(missing);
      return false;
    }
    try {
      const devices = await getBackendDevicesInfo(variant);
      if (devices.some((d) => d.type.toLowerCase().includes("gpu"))) return true;
      reasons.push(explainGpuProblem(variant, probe, true)!);
    } catch (err) {
      reasons.push(`${variant}: the variant did not load (${(err as Error).message.split("\n")[0]})`);
    }
    return false;
  };
  const order: ("cuda" | "vulkan")[] = gpu === "auto" ? ["cuda", "vulkan"] : [gpu];
  for (const v of order) {
    if (await tryVariant(v)) return { variant: v, reason: `GPU=${gpu}: ${v} found a GPU` };
  }
  return { variant: "default", reason: `CPU fallback (${reasons.join("; ")})` };
}

/** @fugood/llama.node: llama.cpp with libmtmd, so it runs images and text. */
export class LlamaNodeBackend implements Backend {
  private constructor(
    readonly info: LoadedModelInfo,
    private readonly ctx: LlamaContext,
    private readonly sessions: SessionStore,
    private readonly bosText: string | undefined,
  ) {}

  /**
   * LoRA adapters are context-wide in this binding: `applyLoraAdapters` sets
   * them for every parallel slot, and its parallel completions take no
   * per-request adapters. So answers run grouped by adapter set (see
   * AdapterGate): a switch waits until the running answers end.
   */
  private readonly gate = new AdapterGate<AdapterUse[]>((_set, list) => {
    this.ctx.removeLoraAdapters();
    if (list.length) this.ctx.applyLoraAdapters(list.map((a) => ({ path: a.path, scaled: a.scale })));
    // The parallel slots keep their KV in memory and reuse a matching prefix (seen with image
    // prompts: 108 of 109 tokens reused after a switch), KV computed with the previous set.
    this.ctx.clearCache(false);
    const loaded = this.ctx.getLoadedLoraAdapters();
    if (loaded.length !== list.length) {
      throw new EngineError("load_failed", `llama.node applied ${loaded.length} of ${list.length} LoRA adapters (${list.map((a) => a.name).join(", ")}).`);
    }
  });

  private withBos(prompt: string, images: string[]): string {
    return !images.length && this.bosText ? this.bosText + prompt : prompt;
  }

  private disposed = false;
  /** One request per conversation at a time: one state file, one writer. */
  private readonly locks = new KeyedMutex();

  static async load(opts: LlamaNodeOptions): Promise<LlamaNodeBackend> {
    const { variant, reason } = await chooseVariant(opts.gpu);
    const gpuLayers = variant === "default" ? 0 : opts.gpuLayers === "auto" ? 999 : opts.gpuLayers;
    await nativeLog(true);
    let ctx: LlamaContext | undefined;
    try {
      ctx = await loadModel(
        {
          model: opts.modelPath,
          n_ctx: opts.contextSize * opts.slots,
          n_batch: 512,
          n_threads: opts.threads,
          n_gpu_layers: gpuLayers,
          n_parallel: opts.slots,
          // One sequence per slot; conversations rarely share long prefixes.
          kv_unified: false,
          lib_variant: variant === "default" ? undefined : variant,
        },
        (p) => opts.onProgress?.(p > 1 ? p / 100 : p),
      );
      let imageTokens = 0;
      let support = { vision: false, audio: false };
      let audioProbeTokens = 0;
      if (opts.mmprojPath) {
        const before = recentLog.length;
        const ok = ctx.initMultimodal({ path: opts.mmprojPath, use_gpu: variant !== "default" });
        if (!ok) {
          const why = recentLog.slice(before).filter((l) => /error|fail|unsupported|invalid/i.test(l)).join(" ").trim();
          throw new EngineError("load_failed", `The projector ${path.basename(opts.mmprojPath)} did not load${why ? `: ${why}` : "."}`);
        }
        // An audio-only projector (Ultravox) sees no images; Qwen2.5-Omni's does both.
        support = await Promise.resolve(ctx.getMultimodalSupport());
        fs.mkdirSync(opts.sessionDir, { recursive: true });
        if (support.vision) {
          // Image cost = tokens of a prompt with one image minus the same prompt without it.
          const probe = path.join(opts.sessionDir, "..", "probe.png");
          writeProbeImage(probe);
          imageTokens = await markerTokens(ctx, probe, opts.bosText);
          // Encode the probe once, so no user pays the vision path's first-use
          // cost (on Vulkan, pipeline compilation took 16.9 s on an H100).
          await ctx.completion({ prompt: `a${IMAGE_MARKER}b`, media_paths: [probe], n_predict: 1, temperature: 0 });
        }
        if (support.audio) {
          // The binding's tokenize() does not count audio: a 1 s clip is encoded once and the prompt's
          // evaluated tokens, less the text's, are its cost (how this llama.cpp chunks a clip, see families/audio.ts).
          const probe = writeProbeAudio(path.join(opts.sessionDir, "..", "probe.wav"));
          const r = await ctx.completion({ prompt: `a${IMAGE_MARKER}b`, media_paths: [probe], n_predict: 1, temperature: 0 });
          const text = (await ctx.tokenize(`${opts.bosText ?? ""}a`)).tokens.length + (await ctx.tokenize("b")).tokens.length;
          // tokens_evaluated counts the prompt (cached prefix included) and the tokens generated.
          audioProbeTokens = r.tokens_evaluated - r.tokens_predicted - text;
          if (audioProbeTokens <= 0) throw new EngineError("load_failed", "Could not measure the audio token cost.");
        }
      }
      // Each adapter is loaded once now, so one llama.cpp refuses is known (and never offered) before an answer needs it.
      const adapters: string[] = [];
      const refusedAdapters: { name: string; reason: string }[] = [];
      for (const a of opts.adapters ?? []) {
        const before = recentLog.length;
        try {
          ctx.applyLoraAdapters([{ path: a.path, scaled: 1 }]);
          if (ctx.getLoadedLoraAdapters().length !== 1) throw new Error("not loaded");
          adapters.push(a.name);
        } catch (err) {
          const why = recentLog.slice(before).filter((l) => /error|fail|mismatch|incorrect|does not exist/i.test(l)).join(" ").trim();
          refusedAdapters.push({ name: a.name, reason: `llama.cpp refused it: ${why || (err as Error).message}` });
        } finally {
          ctx.removeLoraAdapters();
        }
      }
      if (!(await ctx.parallel.enable({ n_parallel: opts.slots, n_batch: 512 }))) {
        throw new EngineError("load_failed", "llama.node could not enable parallel slots.");
      }
      const info: LoadedModelInfo = {
        backend: "llama-node",
        variant: variant === "default" ? "cpu" : variant,
        variantReason: reason,
        gpuLayers,
        contextSize: opts.contextSize,
        threads: opts.threads,
        slots: opts.slots,
        vision: support.vision,
        audio: support.audio,
        audioProbeTokens,
        imageTokens,
        chatTemplate: opts.chatTemplate,
        adapters,
        ...(refusedAdapters.length ? { refusedAdapters } : {}),
      };
      return new LlamaNodeBackend(info, ctx, new SessionStore(opts.sessionDir, opts.sessionBudgetBytes), opts.bosText);
    } catch (err) {
      await ctx?.release().catch(() => {});
      await nativeLog(false);
      if (err instanceof EngineError) throw err;
      const tail = recentLog.slice(-5).join(" ").trim();
      throw new EngineError("load_failed", `${path.basename(opts.modelPath)} did not load: ${(err as Error).message}${tail ? ` (${tail})` : ""}`);
    }
  }

  /** The binding's tokenizer lists an M-RoPE image's positions, not its cells. */
  readonly reportsPositions = true;

  reportedImageTokens(file: string): Promise<number> {
    return markerTokens(this.ctx, file, this.bosText);
  }

  async countTokens(prompt: string, images: string[], imageCosts?: number[]): Promise<number> {
    if (images.length && imageCosts?.length === images.length) {
      // The family's rule prices each image (tokenize() with media counts M-RoPE positions, not
      // the context cells a Qwen2-VL image fills); the text between images is tokenised as libmtmd
      // does it, piece by piece, BOS only on the first.
      const pieces = prompt.split(IMAGE_MARKER);
      const counts = await Promise.all(pieces.map(async (p, i) => (p || i === 0 ? (await this.ctx.tokenize(i === 0 ? (this.bosText ?? "") + p : p)).tokens.length : 0)));
      return counts.reduce((a, b) => a + b, 0) + imageCosts.reduce((a, b) => a + b, 0);
    }
    // With media, the token list holds a placeholder for every image token.
    const res = await this.ctx.tokenize(this.withBos(prompt, images), images.length ? { media_paths: images } : undefined);
    return res.tokens.length;
  }

  async *generate(req: BackendRequest): AsyncGenerator<GenerateEvent> {
    if (this.disposed) throw new EngineError("disposed", "The model was unloaded.");
    const audio = req.images.filter(isAudioPath).length;
    if (audio < req.images.length && !this.info.vision) throw new EngineError("no_vision", "This model cannot see images.");
    if (audio && !this.info.audio) throw new EngineError("no_vision", "This model cannot hear audio.");
    // One lock per conversation, whatever adapters its states were computed with.
    const release = req.sessionKey ? await this.locks.acquire(conversationOf(req.sessionKey)) : () => {};
    let leaveGate: (() => void) | null = null;
    const queue = new AsyncQueue<BindingToken>();
    let text = "";
    let tokens = 0;
    let firstTokenAt = 0;
    const started = performance.now();
    let stopEarly = () => {};
    try {
      leaveGate = await this.gate.enter(adapterSignature(req.adapters ?? []), req.adapters ?? [], req.signal);
      if (!leaveGate) {
        yield { type: "done", usage: finalUsage({ started, firstTokenAt: 0, streamedTokens: 0, promptTokens: 0, reusedPromptTokens: 0, evaluatedPromptTokens: 0, completionTokens: 0, finishReason: "aborted", text: "" }) };
        return;
      }
      const load = req.sessionKey ? this.sessions.lookup(req.sessionKey) : undefined;
      const { promise, stop } = await this.ctx.parallel.completion(
        {
          prompt: this.withBos(req.prompt, req.images),
          media_paths: req.images.length ? req.images : undefined,
          n_predict: req.maxTokens,
          temperature: req.sampling.temperature,
          top_k: req.sampling.topK,
          top_p: req.sampling.topP,
          seed: req.sampling.seed,
          // Neutral values for every other sampler, so both bindings sample alike.
          min_p: 0,
          typ_p: 1,
          penalty_last_n: 0,
          penalty_repeat: 1,
          penalty_freq: 0,
          penalty_present: 0,
          dry_multiplier: 0,
          xtc_probability: 0,
          top_n_sigma: -1,
          mirostat: 0,
          // The binding converts the schema with llama.cpp's json-schema-to-grammar (it takes a string).
          // (its parallel mode reads the schema from response_format only; a key that is present but undefined throws)
          ...(req.constraint ? { response_format: { type: "json_schema" as const, json_schema: { schema: req.constraint.jsonSchema } } } : {}),
          ...(req.logprobs !== undefined ? { n_probs: Math.max(1, req.logprobs) } : {}),
          load_state_path: load,
          save_state_path: req.sessionKey ? this.sessions.target(req.sessionKey) : undefined,
        },
        (_id, tok) => {
          if (!firstTokenAt) firstTokenAt = performance.now();
          tokens++;
          // Parallel mode reports candidates as `probs` (token ids), not as completion_probabilities.
          queue.push({ token: tok.token, probs: (tok as { probs?: BindingToken["probs"] }).probs });
        },
      );
      let aborted = false;
      let settled = false;
      const onAbort = () => {
        aborted = true;
        stop();
      };
      // If the consumer stops iterating early, stop the native request too.
      stopEarly = () => !settled && stop();
      if (req.signal?.aborted) onAbort();
      req.signal?.addEventListener("abort", onAbort, { once: true });
      let result: LlamaParallelCompletionResult | null = null;
      let failure: Error | null = null;
      promise.then(
        (r) => {
          settled = true;
          result = r as LlamaParallelCompletionResult;
          queue.close();
        },
        (err) => {
          settled = true;
          failure = err as Error;
          queue.close();
        },
      );
      for await (const piece of queue) {
        text += piece.token;
        let logprobs: TokenLogprob[] | undefined;
        if (req.logprobs !== undefined) {
          await this.spell(piece.probs?.map((p) => p.tok) ?? []);
          logprobs = [fromBindingToken(piece, req.logprobs, (id) => this.pieces.get(id) ?? "")];
        }
        yield { type: "delta", text: piece.token, ...(logprobs ? { logprobs } : {}) };
      }
      req.signal?.removeEventListener("abort", onAbort);
      const r = result as LlamaParallelCompletionResult | null;
      if (r && req.sessionKey) this.sessions.commit(req.sessionKey);
      const reused = r?.timings.cache_n ?? 0;
      const evaluated = r?.timings.prompt_n ?? 0;
      const usage = finalUsage({
        started,
        firstTokenAt,
        streamedTokens: tokens,
        promptTokens: reused + evaluated,
        reusedPromptTokens: reused,
        evaluatedPromptTokens: evaluated,
        completionTokens: r?.tokens_predicted ?? tokens,
        finishReason: aborted ? "aborted" : failure ? "error" : r?.stopped_limit ? "length" : "stop",
        text: r?.text ?? text,
        error: !aborted && failure ? (failure as Error).message : undefined,
      });
      yield { type: "done", usage };
    } finally {
      stopEarly();
      leaveGate?.();
      release();
    }
  }

  /** Token id → its text, filled on demand for log-probabilities (the binding reports candidates by id). */
  private readonly pieces = new Map<number, string>();

  private async spell(ids: number[]) {
    for (const id of ids) if (!this.pieces.has(id)) this.pieces.set(id, await this.ctx.detokenize([id]));
  }

  async forgetSession(sessionKey: string): Promise<void> {
    const release = await this.locks.acquire(sessionKey);
    try {
      this.sessions.remove(sessionKey);
    } finally {
      release();
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.ctx.parallel.disable();
    await this.ctx.release();
    this.sessions.clear();
    await nativeLog(false);
  }
}


/**
 * What the image marker becomes for this file by the binding's tokenizer
 * (libmtmd: the image's embeddings plus any text tokens it adds around them;
 * for M-RoPE models the image's positions, fewer than the cells it fills).
 */
async function markerTokens(ctx: LlamaContext, file: string, bosText: string | undefined): Promise<number> {
  const withImage = await ctx.tokenize(`a${IMAGE_MARKER}b`, { media_paths: [file] });
  // libmtmd tokenises the text on each side of the image apart (a vocabulary may join "ab").
  const text = (await ctx.tokenize(`${bosText ?? ""}a`)).tokens.length + (await ctx.tokenize("b")).tokens.length;
  const n = withImage.tokens.length - text;
  if (n <= 0) throw new EngineError("load_failed", "Could not measure the image token cost.");
  return n;
}
