import { apiHandler, json } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { deleteMessage } from "@/lib/chat/delete-message";
import { toUIMessages } from "@/lib/chat/ui-message";
import { getConversationOrThrow } from "@/lib/db/conversations";
import { messageParamsSchema } from "../schema";

type Ctx = { params: Promise<{ id: string; messageId: string }> };

// DELETE /api/conversations/:id/messages/:messageId – delete a message with its branch; returns the messages shown now
export const DELETE = apiHandler<Ctx>(async (_req, { params }) => {
  const userId = await requireUserId();
  const { id, messageId } = messageParamsSchema.parse(await params);
  await deleteMessage({ conversationId: id, userId, messageId });
  const conversation = await getConversationOrThrow({ id, userId });
  return json({ messages: toUIMessages(conversation.path, conversation.versions) });
});
