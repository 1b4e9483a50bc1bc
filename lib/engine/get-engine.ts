import "server-only";
import path from "node:path";
import { defaultThreads } from "@/lib/env-schema";
import { env } from "@/lib/env";
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
  | { phase: "error"; error: string; at: number };

const holder = globalThis as { __engineState?: State };
const state = (): State => (holder.__engineState ??= { phase: "idle" });

async function load(): Promise<Engine> {
  const choice = chooseEngine(env);
  const threads = env.THREADS ?? defaultThreads(choice.kind === "in-process" ? "in-process" : "llama-server");
  let model;
  if (choice.kind !== "remote") {
    const catalog = await scanCatalog({ dir: env.MODELS_DIR, modelPath: env.MODEL_PATH, mmprojPath: env.MMPROJ_PATH });
    for (const p of catalog.problems) console.warn(`[engine] skipped ${p.path}: ${p.message}`);
    model = pickModel(catalog);
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
  const promise = load().then(
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

type PublicStatus = Omit<EngineStatus, "model" | "backend" | "servers"> & {
  model: Omit<EngineStatus["model"], "path">;
  backend: Omit<EngineStatus["backend"], "chatTemplate">;
  /** Model servers up and in all (their addresses stay private). */
  servers?: { up: number; total: number };
};

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
  }
}
