import "server-only";
import path from "node:path";
import { defaultThreads } from "@/lib/env-schema";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { startAutoBuild, type AutoBuild, type UpgradeStatus } from "./auto-build";
import { pickModel, scanCatalog } from "./catalog";
import { chooseEngine, type EngineChoice } from "./choose-engine";
import { Engine, type EngineStatus } from "./engine";
import { LLAMA_CPP_DIR } from "./llama-server/binary";

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

const holder = globalThis as { __engineState?: State; __modelId?: string; __autoBuild?: AutoBuild | null };
const state = (): State => (holder.__engineState ??= { phase: "idle" });

/** `in-process` with the reason: after a failed hand-over to llama-server, the app stays where it was. */
async function load(force?: EngineChoice): Promise<Engine> {
  const choice = force ?? chooseEngine(env);
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
  if (choice.kind === "in-process" && env.ENGINE === "auto" && !force) maybeAutoBuild();
  return engine;
}

/** llama-server speed by itself: one background build per process, at most (a failure waits for the next start). */
function maybeAutoBuild() {
  if (holder.__autoBuild !== undefined) return;
  holder.__autoBuild = null;
  if (!env.ENGINE_AUTOBUILD) return;
  // ENGINE_BUILD_COMMAND replaces `npm run engine:build` (a shell command line): another build recipe, or a test's stand-in.
  const custom = env.ENGINE_BUILD_COMMAND;
  const command = custom ? ["/bin/sh", "-c", custom] : [process.execPath, "--import", "tsx", path.join(/*turbopackIgnore: true*/ process.cwd(), "scripts", "build-engine.ts")];
  console.log("[engine] no llama-server is built: building one in the background at the lowest priority (ENGINE_AUTOBUILD=0 turns this off); answers stay on the in-process engine meanwhile");
  const isBuilt = () => {
    try {
      return chooseEngine(env).kind === "llama-server";
    } catch {
      return false;
    }
  };
  holder.__autoBuild = startAutoBuild({ command, dir: LLAMA_CPP_DIR(), isBuilt, onBuilt: handOverToLlamaServer });
  void holder.__autoBuild.finished.then(() => {
    const s = holder.__autoBuild?.status();
    if (s?.state === "failed") console.warn(`[engine] ${s.reason}`);
  });
}

/** Resolves when no turn holds the engine and no generation runs or waits. */
async function drained(engine: Engine): Promise<void> {
  for (;;) {
    const busy = engine.status();
    if (holds === 0 && busy.slotsBusy === 0 && busy.queueLength === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Moves the model from the in-process engine to the llama-server just
 * built, in this process: from now on new turns wait (getEngine() returns
 * the load in progress), the answers being written finish on the old
 * engine, then it is disposed and the model loads on llama-server.
 * Conversations live in the database, so the next turn continues there
 * (its state is re-evaluated from the history once). If llama-server fails
 * to load the model, the app goes back to in-process with the reason.
 */
async function handOverToLlamaServer(): Promise<void> {
  let s = state();
  if (s.phase === "loading") {
    await s.promise.catch(() => {});
    s = state();
  }
  // Not loaded (or failed): the next load chooses llama-server by itself.
  if (s.phase !== "ready" || s.engine.status().engine.kind !== "in-process") return;
  const previous = s.engine;
  console.log("[engine] llama-server is built: handing over once the answers being written are done");
  let failure: Error | null = null;
  await startLoad(async () => {
    await drained(previous);
    await previous.dispose();
    try {
      return await load();
    } catch (err) {
      failure = err as Error;
      console.error(`[engine] llama-server could not load the model (${failure.message}); staying on the in-process engine`);
      return load({ kind: "in-process", reason: `ENGINE=auto: llama-server was built but could not load the model (${failure.message})` });
    }
  });
  if (failure) throw failure;
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
  holder.__autoBuild?.stop();
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

/** What background work on this CPU yields to: the loaded engine's answers, when they run on this machine's CPU (see Engine.cpuActivity). */
export const loadedCpuActivity = () => loadedEngine()?.cpuActivity ?? null;

export type EngineHealth =
  | { status: "not loaded" }
  | { status: "loading"; progress: number; model?: string; engine?: { upgrade: UpgradeStatus } }
  | ({ status: "ready" } & Omit<PublicStatus, "engine"> & { engine: PublicStatus["engine"] & { upgrade?: UpgradeStatus } })
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
  const upgrade = holder.__autoBuild?.status();
  switch (s.phase) {
    case "idle":
      return { status: "not loaded" };
    case "loading":
      return { status: "loading", progress: Math.round(s.progress * 100) / 100, model: s.modelName, ...(upgrade ? { engine: { upgrade } } : {}) };
    case "ready": {
      const status = publicStatus(s.engine.status());
      return { status: "ready", ...status, engine: { ...status.engine, ...(upgrade ? { upgrade } : {}) } };
    }
    case "error":
      return { status: "error", error: s.error };
    case "stopped":
      return { status: "error", error: "The server is shutting down." };
  }
}
