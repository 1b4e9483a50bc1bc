import { createUIMessageStreamResponse } from "ai";
import { apiHandler } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { resumeAnswerOrThrow } from "@/lib/chat/resume-answer";
import { chatIdSchema } from "../../schema";

export const dynamic = "force-dynamic";

type Ctx = { params: Promise<{ id: string }> };

// GET /api/chat/:id/stream – the answer being written in this conversation, from its start and then live (204 when none)
export const GET = apiHandler<Ctx>(async (req, { params }) => {
  const userId = await requireUserId();
  const conversationId = chatIdSchema.parse((await params).id);
  const stream = await resumeAnswerOrThrow({ conversationId, userId, signal: req.signal });
  if (!stream) return new Response(null, { status: 204 });
  return createUIMessageStreamResponse({ stream, headers: { "cache-control": "no-cache, no-transform" } });
});
