import { authenticateApiKey } from "@/lib/auth/api-key";
import { meterApiKey } from "@/lib/auth/meter-api-key";
import { env } from "@/lib/env";
import { createChatCompletion } from "@/lib/openai/chat-completions";
import { openAiErrorResponse } from "@/lib/openai/errors";
import { readJsonBody } from "@/lib/openai/read-body";
import { chatCompletionRequestSchema } from "@/lib/openai/schema";
import { asAnswerIntake } from "@/lib/engine/answer-intake";
import { loadedCpuActivity } from "@/lib/engine/get-engine";

export const dynamic = "force-dynamic";

/** Room for four full-size images as base64 plus the text of a long conversation. */
const maxBody = () => Math.ceil(env.UPLOAD_MAX_BYTES * 1.37) * 4 + 4 * 1024 * 1024;

// POST /v1/chat/completions – OpenAI-compatible chat (streaming or not) with images, for an API key
export async function POST(req: Request) {
  try {
    const key = await authenticateApiKey(req.headers.get("authorization"));
    const meter = await meterApiKey(key);
    const body = chatCompletionRequestSchema.parse(await readJsonBody(req, maxBody()));
    return await asAnswerIntake(loadedCpuActivity, () => createChatCompletion({ userId: key.userId, req: body, signal: req.signal, onUsage: meter.onUsage }));
  } catch (err) {
    return openAiErrorResponse(err);
  }
}
