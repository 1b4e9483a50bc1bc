import "server-only";
import path from "node:path";
import { defaultThreads } from "@/lib/env-schema";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { pickModel, scanCatalog } from "./catalog";
import { chooseEngine } from "./choose-engine";
import { Engine, type EngineStatus } from "./engine";

/**
 * The process's one engine, kept on globalThis so dev hot reload never loads
 * weights twice. Loading starts at server start (instrumentation.ts) or on
 * first use; a failed load is reported in plain words and retried on the
 * next request.
 */
type State =
  | { phase: "idle" }
  | { phase: "loading"; progress: number; modelName?: string; promise: Promise<Engine> }
  | { phase: "ready"; engine: Engine }
  | { phase: "error"; error: string; at: number }
  /** Unloaded for shutdown: nothing loads again in this process. */
  | { phase: "stopped" };

const holder = globalThis as { __engineState?: State; __modelId?: string };
const state = (): State => (holder.__engineState ??= { phase: "idle" });

async function load(): Promise<Engine> {
  const choice = chooseEngine(env);
  const threads = env.THREADS ?? defaultThreads(choice.kind === "in-process" ? "in-process" : "llama-server");
  let model;
  if (choice.kind !== "remote") {
    const catalog = await scanCatalog({ dir: env.MODELS_DIR, modelPath: env.MODEL_PATH, mmprojPath: env.MMPROJ_PATH });
    for (const p of catalog.problems) console.warn(`[engine] skipped ${p.path}: ${p.message}`);
    model = pickModel(catalog, holder.__modelId);
    const unknown = Object.keys(env.MAX_IMAGE_TOKENS).filter((id) => id !== "*" && !catalog.models.some((m) => m.id === id));
    if (unknown.length) console.warn(`[engine] MAX_IMAGE_TOKENS names ${unknown.join(", ")}, which the catalog does not have (ids: ${catalog.models.map((m) => m.id).join(", ")}).`);
    const s = state();
    if (s.phase === "loading") s.modelName = model.name;
    console.log(`[engine] loading ${model.name} (${model.path}${model.vision ? ` + ${path.basename(model.vision.mmprojPath)}` : ""}) on ${choice.kind}`);
  } else {
    console.log(`[engine] connecting to ${env.ENGINE_URL!.join(", ")}`);
  }
  const engine = await Engine.load({
    model,
    engine: choice.kind,
    engineReason: choice.reason,
    llamaServer: choice.llamaServer,
    remote: env.ENGINE_URL ? { urls: env.ENGINE_URL, apiKey: env.ENGINE_API_KEY } : undefined,
    gpu: env.GPU,
    gpuLayers: env.GPU_LAYERS,
    contextSize: env.CONTEXT_SIZE,
    threads,
    slots: env.PARALLEL_SLOTS,
    queueLimit: env.QUEUE_LIMIT,
    cacheDir: path.join(env.DATA_DIR, "cache"),
    maxImageTokens: model ? (env.MAX_IMAGE_TOKENS[model.id] ?? env.MAX_IMAGE_TOKENS["*"]) : undefined,
    onProgress: (p) => {
      const cur = state();
      if (cur.phase === "loading") cur.progress = p;
    },
  });
  const { backend, variant, variantReason, gpuLayers } = engine.info;
  console.log(`[engine] ready: ${choice.kind} via ${backend} (${variant}, ${gpuLayers} GPU layers; ${variantReason})`);
  return engine;
}

/** The loaded engine, loading it first if needed. */
export function getEngine(): Promise<Engine> {
  const s = state();
  if (s.phase === "ready") return Promise.resolve(s.engine);
  if (s.phase === "loading") return s.promise;
  if (s.phase === "stopped") return Promise.reject(new Error("The server is shutting down."));
  return startLoad(load);
}

function startLoad(run: () => Promise<Engine>): Promise<Engine> {
  const promise = run().then(
    (engine) => {
      holder.__engineState = { phase: "ready", engine };
      return engine;
    },
    (err: Error) => {
      console.error(`[engine] load failed: ${err.message}`);
      holder.__engineState = { phase: "error", error: err.message, at: Date.now() };
      throw err;
    },
  );
  holder.__engineState = { phase: "loading", progress: 0, promise };
  return promise;
}

/** Turns holding the engine: a model switch waits until there are none. */
let holds = 0;

/** Keeps the loaded engine from being switched until the returned release is called (once). */
export function holdEngine(): () => void {
  holds++;
  let released = false;
  return () => {
    if (!released) holds--;
    released = true;
  };
}

/** The models this server can load (remote fleets: none; they choose their own). */
export async function listModels(): Promise<{ id: string; name: string; vision: boolean; family: string | null; architecture: string; sizeBytes: number }[]> {
  if (chooseEngine(env).kind === "remote") return [];
  const catalog = await scanCatalog({ dir: env.MODELS_DIR, modelPath: env.MODEL_PATH, mmprojPath: env.MMPROJ_PATH });
  return catalog.models.map((m) => ({
    id: m.id,
    name: m.name,
    vision: m.vision !== null,
    family: m.vision?.family?.label ?? null,
    architecture: m.architecture,
    sizeBytes: m.sizeBytes,
  }));
}

/**
 * Starts loading another model of the catalog in place of the current one. Refused
 * while an answer is being written or another load runs: the switch would
 * cut it. Conversations keep their history; answers record their model.
 */
export async function switchModel(id: string): Promise<void> {
  const models = await listModels();
  if (!models.some((m) => m.id === id)) throw new AppError("not_found:model", "No such model in the catalog.");
  const s = state();
  if (s.phase === "stopped") throw new AppError("unavailable:engine", "The server is shutting down.", { retryAfterSeconds: 30 });
  if (s.phase === "loading") throw new AppError("conflict:model", "A model is loading. Try again when it is ready.");
  if (s.phase === "ready") {
    if (s.engine.model.id === id) return;
    const busy = s.engine.status();
    if (holds > 0 || busy.slotsBusy > 0 || busy.queueLength > 0) {
      throw new AppError("conflict:model", "Answers are being written with the current model. Switch when they are done.");
    }
  }
  const previous = s.phase === "ready" ? s.engine : null;
  holder.__modelId = id;
  // Not awaited: a large model takes minutes; /api/health reports the progress, and a failure.
  startLoad(async () => {
    await previous?.dispose();
    return load();
  }).catch(() => {});
}

type PublicStatus = Omit<EngineStatus, "model" | "backend" | "servers"> & {
  model: Omit<EngineStatus["model"], "path">;
  backend: Omit<EngineStatus["backend"], "chatTemplate">;
  /** Model servers up and in all (their addresses stay private). */
  servers?: { up: number; total: number };
};

/**
 * Unloads the model for good (server shutdown): waits for a load in
 * progress, then disposes the engine, which stops a supervised llama-server.
 * Requests after this get "not loaded" and start nothing new.
 */
export async function unloadEngine(): Promise<void> {
  const s = state();
  const engine = s.phase === "ready" ? s.engine : s.phase === "loading" ? await s.promise.catch(() => null) : null;
  holder.__engineState = { phase: "stopped" };
  await engine?.dispose();
}

/** The engine if it is already loaded; never starts a load. */
export function loadedEngine(): Engine | null {
  const s = state();
  return s.phase === "ready" ? s.engine : null;
}

export type EngineHealth =
  | { status: "not loaded" }
  | { status: "loading"; progress: number; model?: string }
  | ({ status: "ready" } & PublicStatus)
  | { status: "error"; error: string };

function publicStatus(status: EngineStatus): PublicStatus {
  const { path: _path, ...model } = status.model;
  const { chatTemplate: _template, ...backend } = status.backend;
  const { servers, ...rest } = status;
  // Remote server addresses may be internal hosts: the public status only counts them.
  if (backend.backend === "remote") backend.variantReason = status.engine.reason;
  return { ...rest, model, backend, ...(servers ? { servers: { up: servers.filter((s) => s.up).length, total: servers.length } } : {}) };
}

/** For the health endpoint and the UI: never throws, never loads, no file paths. */
export function engineHealth(): EngineHealth {
  const s = state();
  switch (s.phase) {
    case "idle":
      return { status: "not loaded" };
    case "loading":
      return { status: "loading", progress: Math.round(s.progress * 100) / 100, model: s.modelName };
    case "ready":
      return { status: "ready", ...publicStatus(s.engine.status()) };
    case "error":
      return { status: "error", error: s.error };
    case "stopped":
      return { status: "error", error: "The server is shutting down." };
  }
}
