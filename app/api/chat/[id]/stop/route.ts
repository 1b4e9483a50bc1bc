import { apiHandler, json } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { stopAnswer } from "@/lib/chat/stop-answer";
import { chatIdSchema } from "../../schema";

export const dynamic = "force-dynamic";

type Ctx = { params: Promise<{ id: string }> };

// POST /api/chat/:id/stop – stop the answer being written in this conversation (whichever instance writes it)
export const POST = apiHandler<Ctx>(async (_req, { params }) => {
  const userId = await requireUserId();
  const conversationId = chatIdSchema.parse((await params).id);
  return json(await stopAnswer({ conversationId, userId }));
});
