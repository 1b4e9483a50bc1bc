import { authenticateApiKey } from "@/lib/auth/api-key";
import { engineOrUnavailable } from "@/lib/openai/chat-completions";
import { openAiErrorResponse } from "@/lib/openai/errors";

export const dynamic = "force-dynamic";

// GET /v1/models – the model this server runs (OpenAI's list shape), for an API key
export async function GET(req: Request) {
  try {
    await authenticateApiKey(req.headers.get("authorization"));
    const engine = await engineOrUnavailable();
    const model = { id: engine.model.id, object: "model", created: 0, owned_by: "local", vision: engine.info.vision };
    return Response.json({ object: "list", data: [model] }, { headers: { "cache-control": "no-store" } });
  } catch (err) {
    return openAiErrorResponse(err);
  }
}
