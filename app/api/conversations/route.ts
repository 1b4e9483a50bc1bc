import { apiHandler, json, parseJson } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { systemPromptMustFit } from "@/lib/chat/stream-chat";
import { createConversation, listConversations } from "@/lib/db/conversations";
import { assertFolderOwnedOrThrow } from "@/lib/db/folders";
import { createConversationSchema, listQuerySchema } from "./schema";

// GET /api/conversations?cursor=&limit=&q=&view=main|archived|folder&folderId= – the caller's conversations in one view (lib/db/conversations.ts: ConversationView)
export const GET = apiHandler(async (req) => {
  const userId = await requireUserId();
  const query = listQuerySchema.parse(Object.fromEntries(new URL(req.url).searchParams));
  if (query.folderId) await assertFolderOwnedOrThrow({ id: query.folderId, userId });
  return json(await listConversations({ userId, ...query }));
});

// POST /api/conversations – start an empty conversation
export const POST = apiHandler(async (req) => {
  const userId = await requireUserId();
  const body = await parseJson(req, createConversationSchema);
  await systemPromptMustFit(body.systemPrompt, body.settings);
  return json({ conversation: await createConversation({ userId, ...body }) }, { status: 201 });
});
