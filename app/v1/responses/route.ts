import { authenticateApiKey } from "@/lib/auth/api-key";
import { meterApiKey } from "@/lib/auth/meter-api-key";
import { env } from "@/lib/env";
import { openAiErrorResponse } from "@/lib/openai/errors";
import { readJsonBody } from "@/lib/openai/read-body";
import { createResponse } from "@/lib/openai/responses";
import { responsesRequestSchema } from "@/lib/openai/responses-schema";

export const dynamic = "force-dynamic";

/** Room for four full-size images as base64 plus the text of a long conversation (as chat completions). */
const maxBody = () => Math.ceil(env.UPLOAD_MAX_BYTES * 1.37) * 4 + 4 * 1024 * 1024;

// POST /v1/responses – OpenAI's Responses API (stateless; streaming or not) with images, for an API key
export async function POST(req: Request) {
  try {
    const key = await authenticateApiKey(req.headers.get("authorization"));
    const meter = await meterApiKey(key);
    const body = responsesRequestSchema.parse(await readJsonBody(req, maxBody()));
    return await createResponse({ userId: key.userId, req: body, signal: req.signal, onUsage: meter.onUsage });
  } catch (err) {
    return openAiErrorResponse(err);
  }
}
