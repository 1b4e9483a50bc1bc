import { apiHandler, json, parseJson } from "@/lib/api/handler";
import { issueApiKey } from "@/lib/auth/api-key";
import { requireUserId } from "@/lib/auth/session";
import { listApiKeys } from "@/lib/db/api-keys";
import { createApiKeySchema } from "./schema";

export const dynamic = "force-dynamic";

// GET /api/keys – the signed-in user's API keys (never their secrets) with today's and the last 7 days' usage
export const GET = apiHandler(async () => {
  const userId = await requireUserId();
  return json({ keys: await listApiKeys({ userId }) });
});

// POST /api/keys – create a key; the secret is in this response and nowhere else
export const POST = apiHandler(async (req) => {
  const userId = await requireUserId();
  const body = await parseJson(req, createApiKeySchema);
  const { key, secret } = await issueApiKey({
    userId,
    name: body.name,
    expiresAt: body.expiresAt ? new Date(body.expiresAt) : null,
    tokensPerMinute: body.tokensPerMinute ?? null,
  });
  return json({ key, secret }, { status: 201 });
});
