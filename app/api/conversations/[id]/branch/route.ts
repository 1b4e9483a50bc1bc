import { z } from "zod";
import { apiHandler, json, parseJson } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { toUIMessages } from "@/lib/chat/ui-message";
import { switchBranchOrThrow } from "@/lib/db/conversations";

type Ctx = { params: Promise<{ id: string }> };

const branchSchema = z.object({ messageId: z.string().min(1).max(64) });

// POST /api/conversations/:id/branch – show the branch through one version of a message; returns the messages shown
export const POST = apiHandler<Ctx>(async (req, { params }) => {
  const userId = await requireUserId();
  const { messageId } = await parseJson(req, branchSchema);
  const { id } = await params;
  const conversation = await switchBranchOrThrow({ id, userId, messageId });
  return json({ messages: toUIMessages(conversation.path, conversation.versions) });
});
