import { authenticateApiKey } from "@/lib/auth/api-key";
import { ollamaErrorResponse } from "@/lib/ollama/errors";
import { ollamaTags } from "@/lib/ollama/models";

export const dynamic = "force-dynamic";

// GET /ollama/api/tags – the models this server runs (Ollama's list), for an API key
export async function GET(req: Request) {
  try {
    await authenticateApiKey(req.headers.get("authorization"));
    return Response.json(await ollamaTags());
  } catch (err) {
    return ollamaErrorResponse(err);
  }
}
