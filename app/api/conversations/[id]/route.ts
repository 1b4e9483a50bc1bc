import { apiHandler, json, parseJson } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { deleteConversation } from "@/lib/chat/delete-conversation";
import { getConversationOrThrow, updateConversationOrThrow } from "@/lib/db/conversations";
import { updateConversationSchema } from "./schema";

type Ctx = { params: Promise<{ id: string }> };

// GET /api/conversations/:id – one conversation with its messages (404 for another user's id)
export const GET = apiHandler<Ctx>(async (_req, { params }) => {
  const userId = await requireUserId();
  const { id } = await params;
  return json({ conversation: await getConversationOrThrow({ id, userId }) });
});

// PATCH /api/conversations/:id – rename or change the system prompt
export const PATCH = apiHandler<Ctx>(async (req, { params }) => {
  const userId = await requireUserId();
  const body = await parseJson(req, updateConversationSchema);
  const { id } = await params;
  return json({ conversation: await updateConversationOrThrow({ id, userId, ...body }) });
});

// DELETE /api/conversations/:id – delete it with its messages and the attachments only it used
export const DELETE = apiHandler<Ctx>(async (_req, { params }) => {
  const userId = await requireUserId();
  const { id } = await params;
  await deleteConversation({ id, userId });
  return new Response(null, { status: 204 });
});
