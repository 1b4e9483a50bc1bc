import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import sharp from "sharp";
import os from "node:os";
import { BackgroundModel, endLeftover, type BackgroundModelOptions, type BackgroundState, type EngineActivity } from "./background-model";
import { LlamaNodeBackend } from "./backends/llama-node";
import { LlamaServerBackend } from "./backends/llama-server";
import { NodeLlamaCppBackend } from "./backends/node-llama-cpp";
import { RemoteBackend } from "./backends/remote";
import { isAudioPath, preparedAudio } from "./audio-input";
import { checkedAudioCounting, type AudioCounting } from "./audio-cost";
import { adapterSignature, resolveAdapters, type AdapterRequest, type AdapterUse, type CatalogAdapter } from "./adapters";
import type { CatalogModel } from "./catalog";
import { EngineError } from "./errors";
import { familyById, type FamilyRule } from "./families";
import { fitSize, imageSize, resizedCopy } from "./fit-image";
import { FALLBACK_CHAT_TEMPLATE, renderPrompt } from "./prompt";
import { removeSavedStates, stateKeyFor } from "./sessions";
import { nonCanonicalByteTokens } from "./canonical-tokens";
import { SlotPool } from "./slot-pool";
import type { Backend, BackendName, EngineKind, EngineMessage, GenerateEvent, GenerateRequest, LoadedModelInfo, ServerState } from "./types";

export interface EngineOptions {
  /** The local model (required unless `engine` is "remote", whose servers name their own). */
  model?: CatalogModel;
  /** Where the model runs. Default "in-process". */
  engine?: EngineKind;
  /** Why this engine was chosen, in plain words (shown by /api/health). */
  engineReason?: string;
  /** For "llama-server": the executable, the GPU backends it was built with, and optionally a fixed API key (default random). */
  llamaServer?: { binary: string; gpuBuild: string[]; apiKey?: string; watch?: { intervalMs: number; timeoutMs: number; misses: number } };
  /** For "remote": base URLs of OpenAI-compatible servers and an optional API key. */
  remote?: { urls: string[]; apiKey?: string };
  /** In-process only: which binding runs the model. Default: llama-node when it has a projector, else node-llama-cpp. */
  backend?: BackendName;
  gpu: "auto" | "cuda" | "vulkan" | "cpu";
  gpuLayers: "auto" | number;
  /** Tokens of context per conversation slot. */
  contextSize: number;
  threads: number;
  /** Conversations generated at once. */
  slots: number;
  /** Requests allowed to wait for a slot; more get `queue_full`. */
  queueLimit: number;
  /** Folder for saved conversation states (llama-node). */
  cacheDir: string;
  /**
   * The most tokens one image may cost; larger images are downscaled to
   * fit before they are sent (families whose cost grows with the image).
   * Default: a quarter of `contextSize`. 0: no cap.
   */
  maxImageTokens?: number;
  onProgress?: (fraction: number) => void;
}

export interface EngineStatus {
  engine: { kind: EngineKind; reason: string };
  /** Model servers and their state (llama-server, remote fleets); absent in-process. */
  servers?: ServerState[];
  model: {
    id: string;
    name: string;
    path: string;
    vision: boolean;
    parameters: number;
    fileType: string;
    family: string | null;
    /** Its LoRA adapters: usable ones without `refused`. */
    adapters: { name: string; kinds: string[]; refused?: string }[];
  };
  backend: LoadedModelInfo;
  slotsBusy: number;
  slotsFree: number;
  queueLength: number;
  /** The background model process (captions): "stopped" until first used, "frozen" while answers run. */
  background: BackgroundState;
}

const DEFAULT_SAMPLING = { temperature: 0.7, topK: 40, topP: 0.95 };

/**
 * One loaded model owned by the process. Requests borrow a slot; at most
 * `slots` generate at once, `queueLimit` more wait, the rest are refused
 * with a typed error the API turns into 503 + Retry-After.
 */
export class Engine {
  private constructor(
    readonly model: CatalogModel,
    private readonly backend: Backend,
    private readonly pool: SlotPool,
    private readonly eosToken: string,
    readonly kind: EngineKind,
    private readonly reason: string,
    /** Where saved conversation states live (see `forgetSession`). */
    private readonly cacheDir: string,
    /** The family's image-token rule, when the model has one and it agreed with llama.cpp at load. */
    private readonly rule: FamilyRule | undefined,
    /** How to start the background model process (local vision models only). */
    private readonly backgroundOptions?: BackgroundModelOptions,
  ) {}

  private background: BackgroundModel | null = null;

  static async load(opts: EngineOptions): Promise<Engine> {
    const kind = opts.engine ?? "in-process";
    const reason = opts.engineReason ?? `ENGINE=${kind}`;
    const pool = new SlotPool(opts.slots, opts.queueLimit);
    if (kind === "remote") {
      if (!opts.remote?.urls.length) throw new EngineError("load_failed", "The remote engine needs at least one server URL (ENGINE_URL).");
      const backend = await RemoteBackend.load({ ...opts.remote, contextSize: opts.contextSize, slots: opts.slots, reason });
      return new Engine(remoteModel(backend.model, opts.remote.urls), backend, pool, "</s>", kind, reason, opts.cacheDir, undefined);
    }
    const model = opts.model;
    if (!model) throw new EngineError("no_model", "No model to load.");
    const { chatTemplate, eosToken, bosText, nonCanonical } = await readChatConfig(model.path);
    const common = {
      modelPath: model.path,
      gpu: opts.gpu,
      gpuLayers: opts.gpuLayers,
      contextSize: opts.contextSize,
      threads: opts.threads,
      slots: opts.slots,
      chatTemplate,
      onProgress: opts.onProgress,
    };
    // Adapters that pair with this model's weights; the others stay listed with their reason.
    const usableAdapters = (model.adapters ?? []).filter((a) => !a.refused);
    let backend: Backend;
    if (kind === "llama-server") {
      // llama-server caps every slot at the model's trained context: budget with what it will allow.
      const trained = model.contextLength ?? Infinity;
      if (opts.contextSize > trained) {
        console.warn(`[engine] CONTEXT_SIZE ${opts.contextSize} is more than ${model.name} was trained for; llama-server uses ${trained}.`);
        common.contextSize = trained;
      }
      if (!opts.llamaServer) throw new EngineError("load_failed", "No llama-server executable: run `npm run engine:build` or set LLAMA_SERVER_PATH.");
      const gpuLayers = opts.gpu === "cpu" ? 0 : opts.gpuLayers === "auto" ? (opts.llamaServer.gpuBuild.length ? 999 : 0) : opts.gpuLayers;
      backend = await LlamaServerBackend.load({
        ...common,
        binary: opts.llamaServer.binary,
        gpuBuild: opts.llamaServer.gpuBuild,
        apiKey: opts.llamaServer.apiKey,
        watch: opts.llamaServer.watch,
        gpuLayers,
        mmprojPath: (model.vision ?? model.audio)?.mmprojPath,
        adapters: usableAdapters,
        stateDir: path.join(llamaServerStateRoot(opts.cacheDir), modelFingerprint(model)),
        reason,
      });
    } else {
      // A projector (images or audio) needs llama.node; node-llama-cpp may be asked to run a vision model's LLM, and media are then refused.
      const backendName: BackendName = opts.backend ?? (model.vision || model.audio ? "llama-node" : "node-llama-cpp");
      backend =
        backendName === "llama-node"
          ? await LlamaNodeBackend.load({
              ...common,
              mmprojPath: (model.vision ?? model.audio)?.mmprojPath,
              bosText,
              adapters: usableAdapters,
              sessionDir: path.join(opts.cacheDir, "sessions"),
            })
          : await NodeLlamaCppBackend.load(common);
    }
    const rule = await checkedRule(model, backend, opts.cacheDir);
    backend.info.imageCost = backend.info.vision ? (rule ? "family" : "fixed") : undefined;
    backend.info.maxImageTokens = backend.info.vision ? (opts.maxImageTokens ?? Math.floor(opts.contextSize / 4)) : undefined;
    const perImage = Math.max(backend.info.maxImageTokens || common.contextSize, backend.info.imageTokens);
    const background: BackgroundModelOptions | undefined = model.vision
      ? {
          modelPath: model.path,
          mmprojPath: model.vision.mmprojPath,
          // One image, the caption prompt and its answer.
          contextSize: Math.min(common.contextSize, perImage + 256),
          // The binding's prebuilt CPU code runs best on few threads (see defaultThreads).
          threads: Math.min(opts.threads, Math.max(1, os.availableParallelism() - 1), 4),
          pidFile: path.join(opts.cacheDir, "background-model.pid"),
        }
      : undefined;
    // A background process a killed predecessor left frozen holds memory until ended.
    if (background) endLeftover(background.pidFile);
    const engine = new Engine(model, backend, pool, eosToken, kind, reason, opts.cacheDir, rule, background);
    engine.adapterList = (model.adapters ?? []).map((a) => {
      if (a.refused || backend.info.adapters?.includes(a.name)) return a;
      const why = backend.info.refusedAdapters?.find((r) => r.name === a.name)?.reason;
      return { ...a, refused: why ?? `The ${backend.info.backend} engine does not apply LoRA adapters; run this model on llama-server (ENGINE=llama-server) or in-process on llama.node (a model with an mmproj).` };
    });
    engine.audioCounting = checkedAudioCounting(model, backend.info);
    engine.nonCanonical = nonCanonical;
    return engine;
  }

  /** Byte tokens banned under a grammar (see canonical-tokens.ts). */
  private nonCanonical: number[] = [];

  /** The model's LoRA adapters as the catalog listed them at load (remote engines: none). */
  private adapterList: CatalogAdapter[] = [];

  /**
   * The LoRA adapters a request can name (those without `refused`), and the
   * refused ones with the reason. Fixed at load: an adapter copied in later
   * is used after the next model load.
   */
  adapters(): CatalogAdapter[] {
    return this.adapterList;
  }

  /**
   * The adapters `generate` would apply for these names (sorted; scale 0
   * left out), or the error it would throw: for callers that refuse a bad
   * name before anything starts (an API's 400).
   */
  checkAdapters(requested: AdapterRequest[] | undefined): AdapterUse[] {
    if (requested?.length && this.kind === "remote") {
      throw new EngineError("unknown_adapter", "The remote engine does not take adapters from this app: load them on the remote server (llama-server --lora) instead.");
    }
    return resolveAdapters(this.adapterList, requested, this.model.name);
  }

  /** How audio clips are counted, when the model hears audio (see audio-cost.ts). */
  private audioCounting: AudioCounting | undefined;

  /**
   * What one audio clip costs on this model and the file it is sent as: a
   * 16 kHz mono WAV copy (see audio-input.ts), counted by the family's rule
   * for its length.
   */
  async audioCost(file: string): Promise<{ tokens: number; file: string; samples: number }> {
    const counting = this.audioCounting;
    if (!counting) throw new EngineError("no_vision", `${this.model.name} cannot hear audio.`);
    const wav = await preparedAudio(file, this.cacheDir);
    return { tokens: counting.tokens(wav.samples), file: wav.file, samples: wav.samples };
  }

  /** Refuses media the model cannot take: images without a vision encoder, audio without an audio one. */
  private checkMedia(media: string[]) {
    const audio = media.filter(isAudioPath).length;
    if (audio < media.length && !this.info.vision) {
      throw new EngineError("no_vision", `${this.model.name} cannot see images. Load a model with an mmproj to ask about images.`);
    }
    if (audio && !this.info.audio) throw new EngineError("no_vision", `${this.model.name} cannot hear audio.`);
  }

  /**
   * What one image costs on this model, for its actual size, and the size it
   * is sent at: images costing more than `maxImageTokens` are downscaled to
   * fit (only families whose cost grows with the image).
   */
  async imageCost(file: string): Promise<{ tokens: number; file: string; width?: number; height?: number; downscaledFrom?: { width: number; height: number } }> {
    const rule = this.rule;
    if (!rule) return { tokens: this.info.imageTokens, file };
    const clip = this.model.vision!.clip;
    const cost = (w: number, h: number) => rule.imageTokens(clip, w, h);
    try {
      const { width, height } = await imageSize(file);
      const tokens = cost(width, height);
      const cap = this.info.maxImageTokens ?? 0;
      const fit = cap > 0 && tokens > cap ? fitSize(width, height, cap, cost) : null;
      if (!fit) return { tokens, file, width, height };
      const copy = await resizedCopy(file, path.join(this.cacheDir, "fitted"), fit.width, fit.height);
      return { tokens: fit.tokens, file: copy, width: fit.width, height: fit.height, downscaledFrom: { width, height } };
    } catch (err) {
      throw new EngineError("bad_image", `An image of this conversation could not be read (${(err as Error).message}).`);
    }
  }

  /** The images as they are sent (downscaled where they cost too much) and what each costs. */
  private async prepareImages(images: string[]): Promise<{ files: string[]; costs: number[] }> {
    const costs = await Promise.all(images.map((f) => (isAudioPath(f) ? this.audioCost(f) : this.imageCost(f))));
    return { files: costs.map((c) => c.file), costs: costs.map((c) => c.tokens) };
  }

  /**
   * What llama.cpp itself reports for one image (unscaled), and whether it
   * counted positions (the in-process tokenizer with M-RoPE models) or
   * context cells: the ground truth for tests and benchmarks.
   */
  async reportedImageTokens(file: string): Promise<{ tokens: number; unit: "cells" | "positions" }> {
    if (!this.backend.reportedImageTokens) throw new EngineError("no_vision", "This engine cannot report image costs.");
    const positions = Boolean(this.backend.reportsPositions && this.rule?.imagePositions);
    return { tokens: await this.backend.reportedImageTokens(file), unit: positions ? "positions" : "cells" };
  }

  /** What this model's family rule says the image costs in `unit` (for comparing with `reportedImageTokens`). */
  async ruleImageTokens(file: string, unit: "cells" | "positions"): Promise<number | undefined> {
    const rule = this.rule;
    if (!rule) return undefined;
    const { width, height } = await imageSize(file);
    const clip = this.model.vision!.clip;
    return unit === "positions" && rule.imagePositions ? rule.imagePositions(clip, width, height) : rule.imageTokens(clip, width, height);
  }

  get info(): LoadedModelInfo {
    return this.backend.info;
  }

  /**
   * Whether answers hold or wait for a slot, and when that changes: what
   * background work on this machine's CPU yields to. Null when answers do not
   * use this machine's CPU (a remote engine, a model offloaded to a GPU).
   */
  get cpuActivity(): EngineActivity | null {
    if (this.kind === "remote" || this.info.gpuLayers > 0) return null;
    return { isBusy: () => this.pool.isBusy(), onChange: (l) => this.pool.onChange(l) };
  }

  /** The pid of the process running the model when it is not this one (llama-server). */
  get pid(): number | undefined {
    return this.backend.pid;
  }

  status(): EngineStatus {
    const m = this.model;
    return {
      engine: { kind: this.kind, reason: this.reason },
      servers: this.backend.servers?.(),
      model: {
        id: m.id,
        name: m.name,
        path: m.path,
        vision: this.info.vision,
        parameters: m.parameters,
        fileType: m.fileType,
        family: m.audio?.family?.label ?? m.vision?.family?.label ?? null,
        adapters: this.adapterList.map((a) => ({ name: a.name, kinds: a.kinds, ...(a.refused ? { refused: a.refused } : {}) })),
      },
      backend: this.info,
      slotsBusy: this.pool.busy,
      slotsFree: this.pool.capacity - this.pool.busy,
      queueLength: this.pool.waiting,
      background: this.background?.state ?? "stopped",
    };
  }

  /**
   * The process for background generations (image captions) on this model,
   * started on first use and frozen whenever an answer runs (see
   * BackgroundModel); null for remote engines, text-only models and where
   * processes cannot be frozen.
   */
  backgroundModel(): BackgroundModel | null {
    if (!this.backgroundOptions || !BackgroundModel.supported || this.pool.closed) return null;
    this.background ??= new BackgroundModel(this.backgroundOptions, { isBusy: () => this.pool.isBusy(), onChange: (l) => this.pool.onChange(l) });
    // It could not load the model here (a projector the CPU build refuses, say): none, so work goes to the engine.
    return this.background.broken ? null : this.background;
  }

  /** True once the model was unloaded (shut down or switched): nothing runs on this engine any more. */
  get disposed(): boolean {
    return this.pool.closed;
  }

  /** The prompt and the image files (downscaled where they cost too much) exactly as a backend gets them. */
  async prepareInput(messages: EngineMessage[]): Promise<{ prompt: string; images: string[] }> {
    const { prompt, images } = this.render(messages);
    this.checkMedia(images);
    return { prompt, images: (await this.prepareImages(images)).files };
  }

  /** The prompt and image order the backend will see for these messages. */
  render(messages: EngineMessage[]) {
    return renderPrompt(this.info.chatTemplate, messages, { eosToken: this.eosToken });
  }

  /**
   * A cheap upper bound of the prompt tokens, without tokenising: every
   * vocabulary llama.cpp loads needs at most one token per UTF-8 byte (byte
   * fallback), plus the special tokens it adds and each image's fixed cost.
   * When this bound fits, exact counting (a pass over the whole history,
   * images included) can be skipped on the path to the first token.
   */
  tokenUpperBound(messages: EngineMessage[]): number {
    const { prompt, images } = this.render(messages);
    // An audio clip's cost needs its length (a decode): no cheap bound.
    if (images.some(isAudioPath)) return Infinity;
    return Buffer.byteLength(prompt) + 8 + images.length * (this.info.imageTokens + 8);
  }

  /** Prompt tokens these messages cost, images included. */
  async countTokens(messages: EngineMessage[]): Promise<number> {
    const { prompt, images } = this.render(messages);
    this.checkMedia(images);
    const { files, costs } = await this.prepareImages(images);
    // Without a trusted family rule the in-process binding counts the files itself (not audio: its tokenizer skips clips).
    return this.backend.countTokens(prompt, files, this.rule || images.some(isAudioPath) ? costs : undefined);
  }

  /**
   * Streams text deltas, then one `done` event with usage. Aborting the
   * signal stops within a token or two and still ends with `done`
   * (finishReason `aborted`, partial text). Throws `queue_full` when too
   * many requests wait.
   */
  async *generate(req: GenerateRequest): AsyncGenerator<GenerateEvent> {
    const { prompt, images } = this.render(req.messages);
    this.checkMedia(images);
    const adapters = this.checkAdapters(req.adapters);
    const used = adapters.length ? { adapters: adapters.map(({ name, scale }) => ({ name, scale })) } : {};
    const queuedAt = performance.now();
    const release = await this.pool.acquire(req.signal, { pastLimit: req.admitted });
    if (!release) {
      yield {
        type: "done",
        usage: {
          promptTokens: 0,
          reusedPromptTokens: 0,
          evaluatedPromptTokens: 0,
          completionTokens: 0,
          ttftMs: 0,
          tokensPerSecond: 0,
          queueMs: performance.now() - queuedAt,
          finishReason: "aborted",
          text: "",
        },
      };
      return;
    }
    const queueMs = performance.now() - queuedAt;
    try {
      // After the slot: a request refused as busy or stopped while waiting resizes nothing.
      const { files } = await this.prepareImages(images);
      for await (const event of this.backend.generate({
        prompt,
        images: files,
        messages: req.messages,
        // State computed with one adapter set is never reused under another.
        sessionKey: req.sessionKey && stateKeyFor(req.sessionKey, adapterSignature(adapters)),
        adapters,
        maxTokens: req.maxTokens ?? 512,
        sampling: { ...DEFAULT_SAMPLING, ...req.sampling },
        constraint: req.constraint,
        // Only llama-server takes them: llama.node 1.7.15's parallel mode writes logit_bias into a
        // cleared vector (the process died with SIGSEGV when it was given).
        bannedTokens: req.constraint && this.nonCanonical.length && this.info.backend === "llama-server" ? this.nonCanonical : undefined,
        logprobs: req.logprobs,
        signal: req.signal,
      })) {
        if (event.type === "done") {
          yield { type: "done", usage: { ...event.usage, queueMs, ttftMs: event.usage.ttftMs + queueMs, ...used } };
        } else {
          yield event;
        }
      }
    } finally {
      release();
    }
  }

  /** Drops a conversation's cached state (it was deleted or edited), including llama-server states saved for other models. */
  async forgetSession(sessionKey: string): Promise<void> {
    await this.backend.forgetSession(sessionKey);
    removeSavedStates(llamaServerStateRoot(this.cacheDir), sessionKey);
  }

  /** Unloads the model; no handles are left behind. */
  async dispose(): Promise<void> {
    this.pool.close();
    this.background?.dispose();
    await this.backend.dispose();
  }
}

interface TokenizerMeta {
  chat_template?: string;
  ggml?: { tokens?: string[]; token_type?: number[]; eos_token_id?: number; bos_token_id?: number; add_bos_token?: boolean; model?: string };
}

/**
 * The GGUF's chat template (or the documented fallback), its EOS token text,
 * and the BOS token text when the model wants one prepended.
 */
async function readChatConfig(modelPath: string): Promise<{ chatTemplate: string; eosToken: string; bosText?: string; nonCanonical: number[] }> {
  const info = await readGgufFileInfo(modelPath, { logWarnings: false, readTensorInfo: false, sourceType: "filesystem" });
  const tok = (info.metadata as unknown as { tokenizer?: TokenizerMeta }).tokenizer;
  const text = (id: number | undefined) => (id === undefined ? undefined : tok?.ggml?.tokens?.[Number(id)]);
  // llama.cpp's default: SPM ("llama") vocabularies add BOS unless told not to.
  const addBos = tok?.ggml?.add_bos_token ?? tok?.ggml?.model === "llama";
  return {
    chatTemplate: tok?.chat_template || FALLBACK_CHAT_TEMPLATE,
    eosToken: text(tok?.ggml?.eos_token_id) || "</s>",
    bosText: addBos ? text(tok?.ggml?.bos_token_id) : undefined,
    nonCanonical: nonCanonicalByteTokens(tok?.ggml?.tokens ?? [], tok?.ggml?.token_type),
  };
}

/**
 * Identifies the model files, so saved conversation states (which only fit
 * the model that wrote them) are kept per model across restarts.
 */
function modelFingerprint(model: CatalogModel): string {
  const files = [model.path, model.vision?.mmprojPath].filter((f): f is string => Boolean(f));
  const id = files.map((f) => {
    const st = fs.statSync(f);
    return `${path.resolve(f)}:${st.size}:${st.mtimeMs}`;
  });
  return createHash("sha256").update(id.join("|")).digest("hex").slice(0, 16);
}

/** A catalog entry for the model the remote servers serve. */
function remoteModel(m: { id: string; vision: boolean }, urls: string[]): CatalogModel {
  return {
    id: m.id,
    name: m.id,
    path: urls.join(","),
    architecture: "remote",
    parameters: 0,
    fileType: "remote",
    contextLength: null,
    embeddingLength: null,
    hasChatTemplate: true,
    sizeBytes: 0,
    vision: m.vision ? { mmprojPath: "", projectorType: "remote", imageSize: null, patchSize: null, family: null, clip: {} } : null,
  };
}

/**
 * The model family's image-token rule, if it agrees with llama.cpp on the
 * probe image measured at load; otherwise every image is budgeted at the
 * probe's cost (and a family whose cost grows with the image can then be
 * under-counted: the load says so in the log).
 */
async function checkedRule(model: CatalogModel, backend: Backend, cacheDir: string): Promise<FamilyRule | undefined> {
  const family = model.vision?.family;
  if (!family || !backend.info.vision) return undefined;
  const rule = familyById(family.id);
  const clip = model.vision!.clip;
  const expect = (w: number, h: number) => (backend.reportsPositions && rule.imagePositions ? rule.imagePositions(clip, w, h) : rule.imageTokens(clip, w, h));
  try {
    const checks: Array<{ size: string; ours: number; theirs: number }> = [
      { size: `${PROBE_SIZE}×${PROBE_SIZE}`, ours: expect(PROBE_SIZE, PROBE_SIZE), theirs: backend.info.imageTokens },
    ];
    if (backend.reportsPositions && backend.reportedImageTokens) {
      // In-process counting needs no encoding: check the tiling/resizing path too, on a wide image bigger than a tile.
      const wide = path.join(cacheDir, "probe-wide.png");
      fs.mkdirSync(cacheDir, { recursive: true });
      if (!fs.existsSync(wide)) await sharp({ create: { width: 700, height: 300, channels: 3, background: "#888" } }).png().toFile(wide);
      checks.push({ size: "700×300", ours: expect(700, 300), theirs: await backend.reportedImageTokens(wide) });
    }
    const off = checks.find((c) => c.ours !== c.theirs);
    if (off) {
      console.warn(`[engine] ${family.label} image-token rule says ${off.ours} tokens for a ${off.size} image, llama.cpp says ${off.theirs}; counting every image as ${backend.info.imageTokens} tokens.`);
      return undefined;
    }
  } catch (err) {
    console.warn(`[engine] ${family.label} image-token rule failed (${(err as Error).message}); counting every image as the probe's ${backend.info.imageTokens} tokens.`);
    return undefined;
  }
  return rule;
}

/** Side of the probe image every backend encodes at load (probe-image.ts). */
const PROBE_SIZE = 8;

/** Saved llama-server conversation states, one folder per model file. */
const llamaServerStateRoot = (cacheDir: string) => path.join(cacheDir, "llama-server");
