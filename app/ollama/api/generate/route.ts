import { authenticateApiKey } from "@/lib/auth/api-key";
import { meterApiKey } from "@/lib/auth/meter-api-key";
import { ollamaGenerate } from "@/lib/ollama/chat";
import { ollamaErrorResponse } from "@/lib/ollama/errors";
import { readOllamaBody } from "@/lib/ollama/read-body";
import { ollamaGenerateRequestSchema } from "@/lib/ollama/schema";
import { asAnswerIntake } from "@/lib/engine/answer-intake";
import { loadedCpuActivity } from "@/lib/engine/get-engine";

export const dynamic = "force-dynamic";

// POST /ollama/api/generate – Ollama's completion of one prompt (and its images), for an API key
export async function POST(req: Request) {
  try {
    const key = await authenticateApiKey(req.headers.get("authorization"));
    const meter = await meterApiKey(key);
    const body = ollamaGenerateRequestSchema.parse(await readOllamaBody(req));
    return await asAnswerIntake(loadedCpuActivity, () => ollamaGenerate({ userId: key.userId, req: body, signal: req.signal, onUsage: meter.onUsage }));
  } catch (err) {
    return ollamaErrorResponse(err);
  }
}
