import { apiHandler, json } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { toUIMessages } from "@/lib/chat/ui-message";
import { getConversationOrThrow } from "@/lib/db/conversations";

type Ctx = { params: Promise<{ id: string }> };

// GET /api/conversations/:id/messages – the branch shown, as the chat page renders it (with each message's versions)
export const GET = apiHandler<Ctx>(async (_req, { params }) => {
  const userId = await requireUserId();
  const { id } = await params;
  const conversation = await getConversationOrThrow({ id, userId });
  return json({ messages: toUIMessages(conversation.path, conversation.versions) });
});
