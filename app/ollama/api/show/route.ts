import { authenticateApiKey } from "@/lib/auth/api-key";
import { ollamaErrorResponse } from "@/lib/ollama/errors";
import { ollamaShow } from "@/lib/ollama/models";
import { readOllamaBody } from "@/lib/ollama/read-body";
import { ollamaShowRequestSchema } from "@/lib/ollama/schema";

export const dynamic = "force-dynamic";

// POST /ollama/api/show – one model's details and capabilities (vision, audio, tools…), for an API key
export async function POST(req: Request) {
  try {
    await authenticateApiKey(req.headers.get("authorization"));
    const body = ollamaShowRequestSchema.parse(await readOllamaBody(req, 64 * 1024));
    return Response.json(await ollamaShow(body));
  } catch (err) {
    return ollamaErrorResponse(err);
  }
}
