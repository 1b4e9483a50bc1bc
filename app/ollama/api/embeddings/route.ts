import { authenticateApiKey } from "@/lib/auth/api-key";
import { ollamaLegacyEmbedding } from "@/lib/ollama/embed";
import { ollamaErrorResponse } from "@/lib/ollama/errors";
import { readOllamaBody } from "@/lib/ollama/read-body";
import { ollamaEmbeddingsRequestSchema } from "@/lib/ollama/schema";

export const dynamic = "force-dynamic";

// POST /ollama/api/embeddings – Ollama's older one-text embedding (CLIP), for an API key
export async function POST(req: Request) {
  try {
    await authenticateApiKey(req.headers.get("authorization"));
    const body = ollamaEmbeddingsRequestSchema.parse(await readOllamaBody(req));
    return Response.json(await ollamaLegacyEmbedding({ req: body }));
  } catch (err) {
    return ollamaErrorResponse(err);
  }
}
