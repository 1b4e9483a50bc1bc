import "server-only";
import { createEmbeddings } from "@/lib/openai/embeddings";
import { embedModelOrThrow } from "./models";
import type { OllamaEmbedRequest } from "./schema";

/**
 * `POST /api/embed` in Ollama's shape, from the CLIP model that serves
 * /v1/embeddings: texts, and images sent as data: URIs, into one space
 * (unit vectors, so a dot product is a cosine similarity).
 */
export async function ollamaEmbed({ req }: { req: OllamaEmbedRequest }) {
  const started = performance.now();
  const model = embedModelOrThrow(req.model);
  const out = await createEmbeddings({ req: { model, input: req.input, encoding_format: "float" } });
  return {
    model: req.model,
    embeddings: out.data.map((d) => d.embedding as number[]),
    total_duration: Math.round((performance.now() - started) * 1e6),
    load_duration: 0,
    prompt_eval_count: out.usage.prompt_tokens,
  };
}

/** The older `POST /api/embeddings`: one text's vector, as `embedding`. */
export async function ollamaLegacyEmbedding({ req }: { req: { model: string; prompt: string } }) {
  const { embeddings } = await ollamaEmbed({ req: { model: req.model, input: req.prompt } });
  return { embedding: embeddings[0]! };
}
