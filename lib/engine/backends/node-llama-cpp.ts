import path from "node:path";
import {
  getLlama,
  LlamaGrammarEvaluationState,
  LlamaLogLevel,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaModel,
  type Token,
} from "node-llama-cpp";
import { EngineError } from "../errors";
import { KeyedMutex } from "../keyed-mutex";
import { finalUsage } from "../usage";
import type { Backend, BackendRequest, GenerateEvent, GenerationUsage, LoadedModelInfo } from "../types";

export interface NodeLlamaCppOptions {
  modelPath: string;
  /** `auto` lets node-llama-cpp detect CUDA / Vulkan / Metal and fall back to CPU. */
  gpu: "auto" | "cuda" | "vulkan" | "cpu";
  gpuLayers: "auto" | number;
  /** Tokens of context per slot. */
  contextSize: number;
  threads: number;
  slots: number;
  chatTemplate: string;
  onProgress?: (fraction: number) => void;
}

/**
 * node-llama-cpp: text-only models (its 3.x addon cannot take images). One
 * context with one sequence per slot; each conversation keeps its sequence
 * (and so its KV cache) while it is among the most recently used.
 */
export class NodeLlamaCppBackend implements Backend {
  private readonly idle: LlamaContextSequence[];
  /** Conversation → the sequence holding its state, most recently used last. */
  private readonly bound = new Map<string, LlamaContextSequence>();
  private readonly locks = new KeyedMutex();
  private disposed = false;

  private constructor(
    readonly info: LoadedModelInfo,
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
  ) {
    this.idle = Array.from({ length: info.slots }, () => context.getSequence());
  }

  static async load(opts: NodeLlamaCppOptions): Promise<NodeLlamaCppBackend> {
    let llama: Llama | undefined;
    try {
      llama = await getLlama({
        gpu: opts.gpu === "cpu" ? false : opts.gpu,
        build: "never",
        logLevel: LlamaLogLevel.error,
        maxThreads: opts.threads,
        progressLogs: false,
      });
      const model = await llama.loadModel({
        modelPath: opts.modelPath,
        gpuLayers: llama.gpu === false ? 0 : opts.gpuLayers === "auto" ? "auto" : opts.gpuLayers,
        onLoadProgress: (p) => opts.onProgress?.(p),
      });
      const context = await model.createContext({
        contextSize: opts.contextSize * opts.slots,
        sequences: opts.slots,
        threads: opts.threads,
        batchSize: 512,
      });
      const variant = llama.gpu === false ? "cpu" : llama.gpu;
      const info: LoadedModelInfo = {
        backend: "node-llama-cpp",
        variant,
        variantReason:
          llama.gpu === false
            ? opts.gpu === "cpu"
              ? "GPU=cpu"
              : "CPU fallback (node-llama-cpp found no usable CUDA, Vulkan or Metal build)"
            : `GPU=${opts.gpu}: node-llama-cpp uses ${variant}`,
        gpuLayers: model.gpuLayers,
        contextSize: opts.contextSize,
        threads: opts.threads,
        slots: opts.slots,
        vision: false,
        imageTokens: 0,
        chatTemplate: opts.chatTemplate,
      };
      return new NodeLlamaCppBackend(info, llama, model, context);
    } catch (err) {
      await llama?.dispose().catch(() => {});
      throw new EngineError("load_failed", `${path.basename(opts.modelPath)} did not load: ${(err as Error).message}`);
    }
  }

  private tokenize(prompt: string): Token[] {
    const tokens = this.model.tokenize(prompt, true);
    const bos = this.model.tokens.bos;
    return this.model.tokens.shouldPrependBosToken && bos !== null ? [bos, ...tokens] : tokens;
  }

  async countTokens(prompt: string, images: string[]): Promise<number> {
    if (images.length) throw new EngineError("no_vision", "This model cannot see images.");
    return this.tokenize(prompt).length;
  }

  /** The conversation's own sequence if it still has one, else the least recently used free one. */
  private takeSequence(key?: string): LlamaContextSequence {
    if (key) {
      const mine = this.bound.get(key);
      if (mine && this.idle.includes(mine)) {
        this.idle.splice(this.idle.indexOf(mine), 1);
        this.bound.delete(key);
        return mine;
      }
    }
    const boundSeqs = new Set(this.bound.values());
    const unbound = this.idle.find((s) => !boundSeqs.has(s));
    const seq = unbound ?? this.idle[0];
    if (!seq) throw new EngineError("queue_full", "No free sequence.", 1);
    this.idle.splice(this.idle.indexOf(seq), 1);
    for (const [k, s] of this.bound) if (s === seq) this.bound.delete(k);
    return seq;
  }

  private giveBack(seq: LlamaContextSequence, key?: string) {
    if (key) this.bound.set(key, seq);
    // Unbound sequences go first so bound (cached) ones are reused last.
    if (key) this.idle.push(seq);
    else this.idle.unshift(seq);
  }

  async *generate(req: BackendRequest): AsyncGenerator<GenerateEvent> {
    if (this.disposed) throw new EngineError("disposed", "The model was unloaded.");
    if (req.images.length) throw new EngineError("no_vision", "This model cannot see images.");
    const release = req.sessionKey ? await this.locks.acquire(req.sessionKey) : () => {};
    const seq = this.takeSequence(req.sessionKey);
    const started = performance.now();
    let firstTokenAt = 0;
    const generated: Token[] = [];
    let text = "";
    let finishReason: GenerationUsage["finishReason"] = "stop";
    let error: string | undefined;
    let reused = 0;
    let evaluated = 0;
    let prompt: Token[] = [];
    try {
      prompt = this.tokenize(req.prompt);
      // Keep the longest common prefix of what the sequence holds; always
      // evaluate at least the last prompt token to get fresh logits.
      const held = seq.contextTokens;
      let common = 0;
      while (common < held.length && common < prompt.length - 1 && held[common] === prompt[common]) common++;
      if (common < seq.nextTokenIndex) await seq.eraseContextTokenRanges([{ start: common, end: seq.nextTokenIndex }]);
      reused = common;
      evaluated = prompt.length - common;
      // The same converter idea as llama.cpp's: the schema becomes a grammar the sampler follows.
      const grammar = req.constraint ? await this.llama.createGrammarForJsonSchema(req.constraint.jsonSchema as never) : undefined;
      const iterator = seq.evaluate(prompt.slice(common), {
        grammarEvaluationState: grammar ? new LlamaGrammarEvaluationState({ model: this.model, grammar }) : undefined,
        temperature: req.sampling.temperature,
        topK: req.sampling.topK,
        topP: req.sampling.topP,
        seed: req.sampling.seed,
      });
      for await (const token of iterator) {
        if (req.signal?.aborted) {
          finishReason = "aborted";
          break;
        }
        if (this.model.isEogToken(token)) break;
        if (!firstTokenAt) firstTokenAt = performance.now();
        generated.push(token);
        const full = this.model.detokenize(generated);
        // Hold back a trailing partial UTF-8 character until it is complete.
        if (!full.endsWith("\uFFFD")) {
          const delta = full.slice(text.length);
          text = full;
          if (delta) yield { type: "delta", text: delta };
        }
        if (generated.length >= req.maxTokens) {
          finishReason = "length";
          break;
        }
      }
      const full = this.model.detokenize(generated);
      if (full.length > text.length) {
        yield { type: "delta", text: full.slice(text.length) };
        text = full;
      }
    } catch (err) {
      finishReason = "error";
      error = (err as Error).message;
    } finally {
      this.giveBack(seq, finishReason === "error" ? undefined : req.sessionKey);
      release();
    }
    yield {
      type: "done",
      usage: finalUsage({
        started,
        firstTokenAt,
        streamedTokens: generated.length,
        promptTokens: prompt.length,
        reusedPromptTokens: reused,
        evaluatedPromptTokens: evaluated,
        completionTokens: generated.length,
        finishReason,
        text,
        error,
      }),
    };
  }

  async forgetSession(sessionKey: string): Promise<void> {
    this.bound.delete(sessionKey);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }
}
