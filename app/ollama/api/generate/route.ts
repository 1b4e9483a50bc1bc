import { authenticateApiKey } from "@/lib/auth/api-key";
import { ollamaGenerate } from "@/lib/ollama/chat";
import { ollamaErrorResponse } from "@/lib/ollama/errors";
import { readOllamaBody } from "@/lib/ollama/read-body";
import { ollamaGenerateRequestSchema } from "@/lib/ollama/schema";

export const dynamic = "force-dynamic";

// POST /ollama/api/generate – Ollama's completion of one prompt (and its images), for an API key
export async function POST(req: Request) {
  try {
    const { userId } = await authenticateApiKey(req.headers.get("authorization"));
    const body = ollamaGenerateRequestSchema.parse(await readOllamaBody(req));
    return await ollamaGenerate({ userId, req: body, signal: req.signal });
  } catch (err) {
    return ollamaErrorResponse(err);
  }
}
