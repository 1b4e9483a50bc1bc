import { authenticateApiKey } from "@/lib/auth/api-key";
import { limitApiImages } from "@/lib/auth/rate-limit";
import { meterApiKey } from "@/lib/auth/meter-api-key";
import { openAiErrorResponse } from "@/lib/openai/errors";
import { createImageGeneration } from "@/lib/openai/images";
import { imageGenerationRequestSchema } from "@/lib/openai/images-schema";
import { readJsonBody } from "@/lib/openai/read-body";
import { IMAGE_LIMITS } from "@/lib/imagegen/limits";

export const dynamic = "force-dynamic";

/** A prompt and a few fields. */
const MAX_BODY = 256 * 1024;

// POST /v1/images/generations – draw images from a prompt (OpenAI's shape, b64_json; seed, steps, store as extensions), for an API key
export async function POST(req: Request) {
  try {
    const key = await authenticateApiKey(req.headers.get("authorization"));
    const meter = await meterApiKey(key);
    const body = imageGenerationRequestSchema.parse(await readJsonBody(req, MAX_BODY));
    // The caps' 400 for n first (it spends nothing), then the user's images per minute, given back if the request then fails.
    const refund = Number.isInteger(body.n) && body.n >= 1 && body.n <= IMAGE_LIMITS.maxN ? await limitApiImages({ userId: key.userId, n: body.n }) : null;
    try {
      return Response.json(await createImageGeneration({ userId: key.userId, req: body, signal: req.signal, onUsage: meter.onUsage }), { headers: { "cache-control": "no-store" } });
    } catch (err) {
      await refund?.();
      throw err;
    }
  } catch (err) {
    return openAiErrorResponse(err);
  }
}
