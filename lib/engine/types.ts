import type { AdapterRequest, AdapterUse } from "./adapters";

/**
 * Shared types of the model runtime. Only lib/engine imports the llama
 * bindings; everything else sees these plain shapes.
 */

/** One turn of a conversation as the engine sees it: text plus images as paths of normalised files. */
export interface EngineMessage {
  role: "system" | "user" | "assistant";
  text: string;
  /** Absolute paths of normalised image files, shown before the text. */
  images?: string[];
}

export interface Sampling {
  /** 0 = greedy. Default 0.7. */
  temperature?: number;
  /** Default 40. */
  topK?: number;
  /** Default 0.95. */
  topP?: number;
  /** Default random. */
  seed?: number;
}

export type FinishReason = "stop" | "length" | "aborted" | "error";

export interface GenerationUsage {
  /** Prompt tokens in total (text + image tokens). */
  promptTokens: number;
  /** Prompt tokens taken from cached state (not evaluated again). */
  reusedPromptTokens: number;
  /** Prompt tokens evaluated for this request. */
  evaluatedPromptTokens: number;
  /** Tokens generated. */
  completionTokens: number;
  /** Milliseconds from the request reaching the model to the first token. */
  ttftMs: number;
  /** Generated tokens per second after the first. */
  tokensPerSecond: number;
  /** Milliseconds spent waiting for a free slot. */
  queueMs: number;
  finishReason: FinishReason;
  /** The whole generated text (partial when aborted). */
  text: string;
  /** Plain-words reason when finishReason is "error". */
  error?: string;
  /** LoRA adapters the answer was generated with (absent: none). */
  adapters?: { name: string; scale: number }[];
}

/** One generated token's log-probability and the likeliest alternatives at its place (natural log). */
export interface TokenLogprob {
  token: string;
  logprob: number;
  /** The token's UTF-8 bytes. */
  bytes: number[];
  top: { token: string; logprob: number; bytes: number[] }[];
}

/**
 * A piece of the answer. `logprobs` (when asked for) covers the tokens of
 * this piece; a piece may carry several tokens or none (a token split
 * inside a UTF-8 character arrives with the next piece).
 */
export type GenerateEvent = { type: "delta"; text: string; logprobs?: TokenLogprob[] } | { type: "done"; usage: GenerationUsage };

/**
 * What the generated text must be: valid JSON for this JSON schema, enforced
 * while sampling by llama.cpp's grammar (json-schema-to-grammar); remote
 * servers get it as `response_format`.
 */
export interface OutputConstraint {
  jsonSchema: Record<string, unknown>;
}

export interface GenerateRequest {
  messages: EngineMessage[];
  /**
   * Key of the conversation whose cached state (KV) may be reused and will
   * be updated. Without it nothing is reused or cached.
   */
  sessionKey?: string;
  /** Maximum tokens to generate. Default 512. */
  maxTokens?: number;
  sampling?: Sampling;
  /** Constrains the answer to a JSON schema. Default: free text. */
  constraint?: OutputConstraint;
  /** Report each token's log-probability and this many alternatives (0–20). Default: none reported. */
  logprobs?: number;
  signal?: AbortSignal;
  /**
   * The caller already admitted this request under its own limit (a chat
   * turn, counted against PARALLEL_SLOTS + QUEUE_LIMIT before its rows were
   * written): it waits for a slot even when the queue is past its limit
   * (background work can hold a place for a moment) instead of failing with
   * `queue_full` inside a stream that has already started.
   */
  admitted?: boolean;
  /**
   * LoRA adapters to apply for this answer, by name (the model's catalog
   * list, `Engine.adapters()`), each with a scale (default 1). Default none.
   * An unknown or refused name throws `unknown_adapter` / `adapter_refused`.
   */
  adapters?: AdapterRequest[];
}

/** What a backend needs for one generation: the rendered prompt and the images in marker order. */
export interface BackendRequest {
  prompt: string;
  /** The messages the prompt was rendered from (for servers that apply their own template). */
  messages: EngineMessage[];
  images: string[];
  sessionKey?: string;
  maxTokens: number;
  sampling: Required<Omit<Sampling, "seed">> & { seed?: number };
  constraint?: OutputConstraint;
  /** Token ids never to sample (with a constraint: byte tokens the tokenizer never produces, see canonical-tokens.ts). */
  bannedTokens?: number[];
  logprobs?: number;
  signal?: AbortSignal;
  /**
   * LoRA adapters for this answer (resolved, sorted by name); empty or
   * absent: the base model. `sessionKey` already names the adapter set (see
   * `stateKeyFor`), so saved state is never shared across sets.
   */
  adapters?: AdapterUse[];
}

export type BackendName = "llama-node" | "node-llama-cpp" | "llama-server" | "remote";

/** How the model runs: inside this process, in a supervised llama-server, or on remote servers. */
export type EngineKind = "in-process" | "llama-server" | "remote";

export interface LoadedModelInfo {
  backend: BackendName;
  /** Binding build variant actually in use, e.g. "cpu", "cuda", "vulkan". */
  variant: string;
  /** Why this variant (and not a GPU one) was chosen, in plain words. */
  variantReason: string;
  gpuLayers: number;
  contextSize: number;
  threads: number;
  slots: number;
  vision: boolean;
  /**
   * The projector has an audio encoder (Ultravox, Qwen2.5-Omni…): audio
   * files in the media list are heard as audio, not shown as a spectrogram.
   */
  audio?: boolean;
  /** What the marker of the 1 s probe clip encoded at load became (0 without audio): tells how this llama.cpp counts a clip. */
  audioProbeTokens?: number;
  /** Image tokens of the small probe image encoded at load (0 without vision); see `imageCost`. */
  imageTokens: number;
  /**
   * How the engine counts an image: "family" (the family's rule for the
   * image's size, checked against llama.cpp at load), or "fixed" (the
   * probe's cost for every image: a projector of no known family, or a rule
   * that disagreed with llama.cpp at load).
   */
  imageCost?: "family" | "fixed";
  /** Images costing more tokens than this are downscaled before they are sent (0: no cap; the family's cost is then only limited by the context). */
  maxImageTokens?: number;
  chatTemplate: string;
  /** LoRA adapters this backend can apply, by name (loaded at start on llama-server, applied per answer in-process). */
  adapters?: string[];
  /** Adapters the catalog paired but llama.cpp would not load, with its reason. */
  refusedAdapters?: { name: string; reason: string }[];
  /** llama-server on a GPU: the device its log named, the memory free on it at load, and the layers offloaded of all. */
  gpu?: { device?: string; description?: string; freeMiB?: number; layers?: number; totalLayers?: number };
}

/** One loaded model on one binding. The engine owns concurrency and prompts. */
export interface Backend {
  readonly info: LoadedModelInfo;
  /** The process running the model, when it is not this one (a supervised llama-server). */
  readonly pid?: number;
  /** The servers this backend talks to (llama-server, remote fleets), with their state. */
  servers?(): ServerState[];
  generate(req: BackendRequest): AsyncGenerator<GenerateEvent>;
  /**
   * Tokens the prompt costs, images included. `imageCosts` (one per image,
   * from the family's rule) is used by backends that cannot count an image
   * without encoding it (llama-server); in-process counts with the files.
   */
  countTokens(prompt: string, images: string[], imageCosts?: number[]): Promise<number>;
  /**
   * What llama.cpp itself says the image marker becomes for this file
   * (embeddings plus the text tokens libmtmd adds): the ground truth the
   * family rules are checked against. Absent on remote servers.
   */
  reportedImageTokens?(file: string): Promise<number>;
  /**
   * True when `reportedImageTokens` counts positions rather than cells for
   * M-RoPE models (the in-process binding's tokenizer does).
   */
  readonly reportsPositions?: boolean;
  /** Drops cached state for a session (e.g. the conversation was deleted). */
  forgetSession(sessionKey: string): Promise<void>;
  dispose(): Promise<void>;
}

export const IMAGE_MARKER = "<__media__>";

/** One model server a backend talks to. */
export interface ServerState {
  url: string;
  up: boolean;
  /** Answers being generated there now. */
  inFlight: number;
  /** Why it is down, in plain words. */
  lastError?: string;
}
