import { authenticateApiKey } from "@/lib/auth/api-key";
import { ollamaEmbed } from "@/lib/ollama/embed";
import { ollamaErrorResponse } from "@/lib/ollama/errors";
import { readOllamaBody } from "@/lib/ollama/read-body";
import { ollamaEmbedRequestSchema } from "@/lib/ollama/schema";

export const dynamic = "force-dynamic";

// POST /ollama/api/embed – CLIP embeddings of texts (and data-URI images) in Ollama's shape, for an API key
export async function POST(req: Request) {
  try {
    await authenticateApiKey(req.headers.get("authorization"));
    const body = ollamaEmbedRequestSchema.parse(await readOllamaBody(req));
    return Response.json(await ollamaEmbed({ req: body }));
  } catch (err) {
    return ollamaErrorResponse(err);
  }
}
