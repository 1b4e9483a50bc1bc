import { authenticateApiKey } from "@/lib/auth/api-key";
import { ollamaErrorResponse } from "@/lib/ollama/errors";
import { ollamaPs } from "@/lib/ollama/models";

export const dynamic = "force-dynamic";

// GET /ollama/api/ps – the loaded model (Ollama's shape), for an API key
export async function GET(req: Request) {
  try {
    await authenticateApiKey(req.headers.get("authorization"));
    return Response.json(await ollamaPs());
  } catch (err) {
    return ollamaErrorResponse(err);
  }
}
