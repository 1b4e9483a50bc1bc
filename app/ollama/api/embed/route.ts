import { authenticateApiKey } from "@/lib/auth/api-key";
import { meterApiKey } from "@/lib/auth/meter-api-key";
import { ollamaEmbed } from "@/lib/ollama/embed";
import { isDataUri } from "@/lib/openai/image-data-uri";
import { ollamaErrorResponse } from "@/lib/ollama/errors";
import { readOllamaBody } from "@/lib/ollama/read-body";
import { ollamaEmbedRequestSchema } from "@/lib/ollama/schema";

export const dynamic = "force-dynamic";

// POST /ollama/api/embed – CLIP embeddings of texts (and data-URI images) in Ollama's shape, for an API key
export async function POST(req: Request) {
  try {
    const meter = await meterApiKey(await authenticateApiKey(req.headers.get("authorization")));
    const body = ollamaEmbedRequestSchema.parse(await readOllamaBody(req));
    const out = await ollamaEmbed({ req: body });
    // ollamaEmbed takes no onUsage yet: its cost is told here (a data: URI input is an image).
    await meter.onUsage({ promptTokens: out.prompt_eval_count, completionTokens: 0, images: [body.input].flat().filter(isDataUri).length });
    return Response.json(out);
  } catch (err) {
    return ollamaErrorResponse(err);
  }
}
