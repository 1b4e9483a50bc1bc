import { authenticateApiKey } from "@/lib/auth/api-key";
import { ollamaErrorResponse } from "@/lib/ollama/errors";
import { OLLAMA_API_VERSION } from "@/lib/ollama/models";

export const dynamic = "force-dynamic";

// GET /ollama/api/version – the Ollama release whose API this follows, for an API key
export async function GET(req: Request) {
  try {
    await authenticateApiKey(req.headers.get("authorization"));
    return Response.json({ version: OLLAMA_API_VERSION });
  } catch (err) {
    return ollamaErrorResponse(err);
  }
}
