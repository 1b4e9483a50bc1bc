import "server-only";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Engine } from "@/lib/engine/engine";
import { env } from "@/lib/env";
import { engineOrUnavailable } from "@/lib/openai/chat-completions";
import { OpenAiError } from "@/lib/openai/errors";

/**
 * The server's models as Ollama lists them: the chat model, and the CLIP
 * model that answers `/api/embed` (Ollama's clients pick an embedding model
 * by name, as they do with Ollama). Names carry Ollama's `:latest` tag; a
 * request may name a model with or without it.
 */

/**
 * What Ollama's clients check a server's version against to enable features
 * (tools, structured output, capabilities in /api/show): the release whose
 * API this one follows.
 */
export const OLLAMA_API_VERSION = "0.12.6";

const tagged = (id: string) => `${id}:latest`;
const same = (requested: string, id: string) => [id, tagged(id)].some((n) => n.toLowerCase() === requested.toLowerCase());

/** The chat model's id when `requested` names it, else an Ollama-style 404. */
export async function chatModelOrThrow(requested: string): Promise<Engine> {
  const engine = await engineOrUnavailable();
  if (!same(requested, engine.model.id)) throw notFound(requested, engine.model.id);
  return engine;
}

const notFound = (requested: string, id: string) => new OpenAiError(404, `model '${requested}' not found: this server runs '${tagged(id)}' (see /api/tags); models cannot be pulled here.`, "model", "model_not_found");

/** The CLIP model's id, when its files are there. */
function clipId(): string | null {
  return fs.existsSync(env.CLIP_MODEL_DIR) ? path.basename(env.CLIP_MODEL_DIR) : null;
}

/** The embedding model's id when `requested` names it (or says "clip"), else a 404. */
export function embedModelOrThrow(requested: string): string {
  const id = clipId();
  if (id && (same(requested, id) || same(requested, "clip"))) return id;
  throw new OpenAiError(404, `model '${requested}' not found: embeddings come from '${id ? tagged(id) : "clip"}' (see /api/tags).`, "model", "model_not_found");
}

function fileFacts(file: string, id: string) {
  const stat = (() => {
    try {
      return fs.statSync(file);
    } catch {
      return null;
    }
  })();
  const modified = stat?.mtime ?? new Date(0);
  // A stand-in for Ollama's blob digest: stable while the file is unchanged, without hashing gigabytes.
  const digest = createHash("sha256").update(`${id}:${stat?.size ?? 0}:${modified.getTime()}`).digest("hex");
  return { modified_at: modified.toISOString(), digest };
}

const parameterSize = (n: number) => (n >= 1e9 ? `${+(n / 1e9).toFixed(1)}B` : n >= 1e6 ? `${Math.round(n / 1e6)}M` : String(n));

function chatEntry(engine: Engine) {
  const m = engine.model;
  return {
    name: tagged(m.id),
    model: tagged(m.id),
    size: m.sizeBytes,
    ...fileFacts(m.path, m.id),
    details: {
      parent_model: "",
      format: "gguf",
      family: m.architecture,
      families: engine.info.vision ? [m.architecture, "clip"] : [m.architecture],
      parameter_size: parameterSize(m.parameters),
      quantization_level: m.fileType,
    },
  };
}

function clipEntry(id: string) {
  return {
    name: tagged(id),
    model: tagged(id),
    size: 0,
    ...fileFacts(env.CLIP_MODEL_DIR, id),
    details: { parent_model: "", format: "onnx", family: "clip", families: ["clip"], parameter_size: "", quantization_level: "" },
  };
}

/** `GET /api/tags`: the models this server runs. */
export async function ollamaTags() {
  const engine = await engineOrUnavailable();
  const clip = clipId();
  return { models: [chatEntry(engine), ...(clip ? [clipEntry(clip)] : [])] };
}

/** `POST /api/show`: one model's details and what it can do. */
export async function ollamaShow({ model }: { model: string }) {
  const engine = await engineOrUnavailable();
  const clip = clipId();
  if (clip && !same(model, engine.model.id) && (same(model, clip) || same(model, "clip"))) {
    const { details, modified_at } = clipEntry(clip);
    return { modelfile: "", parameters: "", template: "", details, model_info: { "general.architecture": "clip" }, capabilities: ["embedding"], modified_at };
  }
  if (!same(model, engine.model.id)) throw notFound(model, engine.model.id);
  const { details, modified_at } = chatEntry(engine);
  const m = engine.model;
  // "audio" only for a model that hears (an audio encoder); a vision model is sent audio as a spectrogram image.
  const capabilities = ["completion", ...(engine.info.vision ? ["vision"] : []), ...(engine.info.audio ? ["audio"] : []), "tools"];
  return {
    modelfile: "",
    parameters: "",
    template: engine.info.chatTemplate,
    details,
    model_info: {
      "general.architecture": m.architecture,
      "general.parameter_count": m.parameters,
      [`${m.architecture}.context_length`]: engine.info.contextSize,
      ...(m.embeddingLength ? { [`${m.architecture}.embedding_length`]: m.embeddingLength } : {}),
    },
    capabilities,
    modified_at,
  };
}

/** `GET /api/ps`: the loaded model (it stays loaded while the server runs). */
export async function ollamaPs() {
  const engine = await engineOrUnavailable();
  const entry = chatEntry(engine);
  const onGpu = engine.info.gpuLayers > 0;
  return {
    models: [
      {
        name: entry.name,
        model: entry.model,
        size: entry.size,
        digest: entry.digest,
        details: entry.details,
        expires_at: new Date(Date.now() + 365 * 86_400_000).toISOString(),
        size_vram: onGpu ? entry.size : 0,
        context_length: engine.info.contextSize,
      },
    ],
  };
}
