import { authenticateApiKey } from "@/lib/auth/api-key";
import { meterApiKey } from "@/lib/auth/meter-api-key";
import { env } from "@/lib/env";
import { createEmbeddings } from "@/lib/openai/embeddings";
import { embeddingsRequestSchema } from "@/lib/openai/embeddings-schema";
import { openAiErrorResponse } from "@/lib/openai/errors";
import { readJsonBody } from "@/lib/openai/read-body";

export const dynamic = "force-dynamic";

/** Room for four full-size images as base64. */
const maxBody = () => Math.ceil(env.UPLOAD_MAX_BYTES * 1.37) * 4 + 1024 * 1024;

// POST /v1/embeddings – CLIP embeddings of texts and data-URI images (OpenAI's shape), for an API key
export async function POST(req: Request) {
  try {
    const meter = await meterApiKey(await authenticateApiKey(req.headers.get("authorization")));
    const body = embeddingsRequestSchema.parse(await readJsonBody(req, maxBody()));
    return Response.json(await createEmbeddings({ req: body, onUsage: meter.onUsage }));
  } catch (err) {
    return openAiErrorResponse(err);
  }
}
