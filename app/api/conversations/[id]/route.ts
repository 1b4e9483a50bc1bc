import { apiHandler, json, parseJson } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { deleteConversation } from "@/lib/chat/delete-conversation";
import { getConversationOrThrow, updateConversationOrThrow } from "@/lib/db/conversations";
import { systemPromptMustFit } from "@/lib/chat/stream-chat";
import { updateConversationSchema } from "./schema";

type Ctx = { params: Promise<{ id: string }> };

// GET /api/conversations/:id – one conversation with all its messages, the branch shown (`path`) and its versions (404 for another user's id)
export const GET = apiHandler<Ctx>(async (_req, { params }) => {
  const userId = await requireUserId();
  const { id } = await params;
  const { versions, ...conversation } = await getConversationOrThrow({ id, userId });
  return json({ conversation: { ...conversation, versions: Object.fromEntries(versions) } });
});

// PATCH /api/conversations/:id – rename, change the system prompt or sampling settings, move to a folder, pin, archive (404 for another user's conversation or folder)
export const PATCH = apiHandler<Ctx>(async (req, { params }) => {
  const userId = await requireUserId();
  const body = await parseJson(req, updateConversationSchema);
  const { id } = await params;
  if (body.systemPrompt !== undefined || body.settings !== undefined) {
    // The prompt and budget the conversation will have after this change.
    const current = await getConversationOrThrow({ id, userId });
    await systemPromptMustFit(body.systemPrompt === undefined ? current.systemPrompt : body.systemPrompt, body.settings === undefined ? current.settings : body.settings);
  }
  return json({ conversation: await updateConversationOrThrow({ id, userId, ...body }) });
});

// DELETE /api/conversations/:id – delete it with its messages and the attachments only it used
export const DELETE = apiHandler<Ctx>(async (_req, { params }) => {
  const userId = await requireUserId();
  const { id } = await params;
  await deleteConversation({ id, userId });
  return new Response(null, { status: 204 });
});
