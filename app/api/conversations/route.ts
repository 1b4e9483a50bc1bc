import { apiHandler, json, parseJson } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { systemPromptMustFit } from "@/lib/chat/stream-chat";
import { createConversation, listConversations } from "@/lib/db/conversations";
import { createConversationSchema, listQuerySchema } from "./schema";

// GET /api/conversations?cursor=&limit= – the caller's conversations, newest first
export const GET = apiHandler(async (req) => {
  const userId = await requireUserId();
  const query = listQuerySchema.parse(Object.fromEntries(new URL(req.url).searchParams));
  return json(await listConversations({ userId, ...query }));
});

// POST /api/conversations – start an empty conversation
export const POST = apiHandler(async (req) => {
  const userId = await requireUserId();
  const body = await parseJson(req, createConversationSchema);
  await systemPromptMustFit(body.systemPrompt, body.settings);
  return json({ conversation: await createConversation({ userId, ...body }) }, { status: 201 });
});
