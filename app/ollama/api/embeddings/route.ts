import { authenticateApiKey } from "@/lib/auth/api-key";
import { meterApiKey } from "@/lib/auth/meter-api-key";
import { ollamaLegacyEmbedding } from "@/lib/ollama/embed";
import { ollamaErrorResponse } from "@/lib/ollama/errors";
import { readOllamaBody } from "@/lib/ollama/read-body";
import { ollamaEmbeddingsRequestSchema } from "@/lib/ollama/schema";
import { isDataUri } from "@/lib/openai/image-data-uri";

export const dynamic = "force-dynamic";

// POST /ollama/api/embeddings – Ollama's older one-text embedding (CLIP), for an API key
export async function POST(req: Request) {
  try {
    const meter = await meterApiKey(await authenticateApiKey(req.headers.get("authorization")));
    const body = ollamaEmbeddingsRequestSchema.parse(await readOllamaBody(req));
    const out = await ollamaLegacyEmbedding({ req: body });
    // Its cost, counted as /v1/embeddings counts it (a text's characters; a data: URI is an image).
    const image = isDataUri(body.prompt);
    await meter.onUsage({ promptTokens: image ? 0 : body.prompt.length, completionTokens: 0, images: image ? 1 : 0 });
    return Response.json(out);
  } catch (err) {
    return ollamaErrorResponse(err);
  }
}
