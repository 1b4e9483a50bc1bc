import { authenticateApiKey } from "@/lib/auth/api-key";
import { meterApiKey } from "@/lib/auth/meter-api-key";
import { ollamaChat } from "@/lib/ollama/chat";
import { ollamaErrorResponse } from "@/lib/ollama/errors";
import { readOllamaBody } from "@/lib/ollama/read-body";
import { ollamaChatRequestSchema } from "@/lib/ollama/schema";
import { asAnswerIntake } from "@/lib/engine/answer-intake";
import { loadedCpuActivity } from "@/lib/engine/get-engine";

export const dynamic = "force-dynamic";

// POST /ollama/api/chat – Ollama's chat (NDJSON stream or one object) with base64 images, for an API key
export async function POST(req: Request) {
  try {
    const key = await authenticateApiKey(req.headers.get("authorization"));
    const meter = await meterApiKey(key);
    const body = ollamaChatRequestSchema.parse(await readOllamaBody(req));
    return await asAnswerIntake(loadedCpuActivity, () => ollamaChat({ userId: key.userId, req: body, signal: req.signal, onUsage: meter.onUsage }));
  } catch (err) {
    return ollamaErrorResponse(err);
  }
}
