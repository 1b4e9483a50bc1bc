import { apiHandler, parseJson } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import type { MessagePart } from "@/lib/chat/message-parts";
import { streamTurn } from "@/lib/chat/stream-turn";
import { asAnswerIntake } from "@/lib/engine/answer-intake";
import { loadedCpuActivity } from "@/lib/engine/get-engine";
import type { TurnKind } from "@/lib/db/messages";
import { CHAT_BODY_MAX_BYTES, chatRequestSchema, UPLOAD_URL } from "./schema";

export const dynamic = "force-dynamic";

// POST /api/chat – save the question, stream the answer or the generated image (AI SDK UI message stream), save it
// (An answer intake: background work on this CPU yields from the moment it arrives; see answer-intake.ts.)
export const POST = apiHandler((req) => asAnswerIntake(loadedCpuActivity, () => turn(req)));

async function turn(req: Request) {
  const userId = await requireUserId();
  const body = await parseJson(req, chatRequestSchema, { maxBytes: CHAT_BODY_MAX_BYTES });
  const parts: MessagePart[] | null =
    body.message?.parts.map((p) =>
      p.type === "text" ? { type: "text", text: p.text } : { type: "image", attachmentId: UPLOAD_URL.exec(p.url)![1]! },
    ) ?? null;
  const turn: TurnKind =
    body.continue && body.messageId
      ? { kind: "continue", messageId: body.messageId }
      : body.trigger === "regenerate-message"
      ? { kind: "regenerate", messageId: body.messageId }
      : body.messageId
        ? { kind: "edit", parts: parts!, messageId: body.messageId }
        : { kind: "ask", parts: parts!, parentId: body.parentId };
  return streamTurn({ userId, conversationId: body.id, turn, kind: body.kind, image: body.image, signal: req.signal });
}
