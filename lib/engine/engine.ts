import path from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { LlamaNodeBackend } from "./backends/llama-node";
import { NodeLlamaCppBackend } from "./backends/node-llama-cpp";
import type { CatalogModel } from "./catalog";
import { EngineError } from "./errors";
import { FALLBACK_CHAT_TEMPLATE, renderPrompt } from "./prompt";
import { SlotPool } from "./slot-pool";
import type { Backend, BackendName, EngineMessage, GenerateEvent, GenerateRequest, LoadedModelInfo } from "./types";

export interface EngineOptions {
  model: CatalogModel;
  /** Which binding runs the model. Default: llama-node when it has a projector, else node-llama-cpp. */
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
  onProgress?: (fraction: number) => void;
}

export interface EngineStatus {
  model: { id: string; name: string; path: string; vision: boolean; parameters: number; fileType: string };
  backend: LoadedModelInfo;
  slotsBusy: number;
  slotsFree: number;
  queueLength: number;
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
  ) {}

  static async load(opts: EngineOptions): Promise<Engine> {
    // node-llama-cpp may be asked to run a vision model's LLM; images are then refused.
    const backendName: BackendName = opts.backend ?? (opts.model.vision ? "llama-node" : "node-llama-cpp");
    const { chatTemplate, eosToken, bosText } = await readChatConfig(opts.model.path);
    const common = {
      modelPath: opts.model.path,
      gpu: opts.gpu,
      gpuLayers: opts.gpuLayers,
      contextSize: opts.contextSize,
      threads: opts.threads,
      slots: opts.slots,
      chatTemplate,
      onProgress: opts.onProgress,
    };
    const backend =
      backendName === "llama-node"
        ? await LlamaNodeBackend.load({
            ...common,
            mmprojPath: opts.model.vision?.mmprojPath,
            bosText,
            sessionDir: path.join(opts.cacheDir, "sessions"),
          })
        : await NodeLlamaCppBackend.load(common);
    return new Engine(opts.model, backend, new SlotPool(opts.slots, opts.queueLimit), eosToken);
  }

  get info(): LoadedModelInfo {
    return this.backend.info;
  }

  status(): EngineStatus {
    const m = this.model;
    return {
      model: { id: m.id, name: m.name, path: m.path, vision: this.info.vision, parameters: m.parameters, fileType: m.fileType },
      backend: this.info,
      slotsBusy: this.pool.busy,
      slotsFree: this.pool.capacity - this.pool.busy,
      queueLength: this.pool.waiting,
    };
  }

  /** The prompt and image order the backend will see for these messages. */
  render(messages: EngineMessage[]) {
    return renderPrompt(this.info.chatTemplate, messages, { eosToken: this.eosToken });
  }

  /** Prompt tokens these messages cost, images included. */
  async countTokens(messages: EngineMessage[]): Promise<number> {
    const { prompt, images } = this.render(messages);
    if (images.length && !this.info.vision) throw new EngineError("no_vision", "This model cannot see images.");
    return this.backend.countTokens(prompt, images);
  }

  /**
   * Streams text deltas, then one `done` event with usage. Aborting the
   * signal stops within a token or two and still ends with `done`
   * (finishReason `aborted`, partial text). Throws `queue_full` when too
   * many requests wait.
   */
  async *generate(req: GenerateRequest): AsyncGenerator<GenerateEvent> {
    const { prompt, images } = this.render(req.messages);
    if (images.length && !this.info.vision) {
      throw new EngineError("no_vision", `${this.model.name} cannot see images. Load a model with an mmproj to ask about images.`);
    }
    const queuedAt = performance.now();
    const release = await this.pool.acquire(req.signal);
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
      for await (const event of this.backend.generate({
        prompt,
        images,
        sessionKey: req.sessionKey,
        maxTokens: req.maxTokens ?? 512,
        sampling: { ...DEFAULT_SAMPLING, ...req.sampling },
        signal: req.signal,
      })) {
        if (event.type === "done") {
          yield { type: "done", usage: { ...event.usage, queueMs, ttftMs: event.usage.ttftMs + queueMs } };
        } else {
          yield event;
        }
      }
    } finally {
      release();
    }
  }

  /** Drops a conversation's cached state (it was deleted or edited). */
  forgetSession(sessionKey: string): Promise<void> {
    return this.backend.forgetSession(sessionKey);
  }

  /** Unloads the model; no handles are left behind. */
  async dispose(): Promise<void> {
    this.pool.close();
    await this.backend.dispose();
  }
}

interface TokenizerMeta {
  chat_template?: string;
  ggml?: { tokens?: string[]; eos_token_id?: number; bos_token_id?: number; add_bos_token?: boolean; model?: string };
}

/**
 * The GGUF's chat template (or the documented fallback), its EOS token text,
 * and the BOS token text when the model wants one prepended.
 */
async function readChatConfig(modelPath: string): Promise<{ chatTemplate: string; eosToken: string; bosText?: string }> {
  const info = await readGgufFileInfo(modelPath, { logWarnings: false, readTensorInfo: false, sourceType: "filesystem" });
  const tok = (info.metadata as unknown as { tokenizer?: TokenizerMeta }).tokenizer;
  const text = (id: number | undefined) => (id === undefined ? undefined : tok?.ggml?.tokens?.[Number(id)]);
  // llama.cpp's default: SPM ("llama") vocabularies add BOS unless told not to.
  const addBos = tok?.ggml?.add_bos_token ?? tok?.ggml?.model === "llama";
  return {
    chatTemplate: tok?.chat_template || FALLBACK_CHAT_TEMPLATE,
    eosToken: text(tok?.ggml?.eos_token_id) || "</s>",
    bosText: addBos ? text(tok?.ggml?.bos_token_id) : undefined,
  };
}
