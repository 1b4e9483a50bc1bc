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
// (An answer intake once the request is authenticated and valid: background work on this CPU yields from then; see answer-intake.ts.)
export const POST = apiHandler(async (req) => {
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
  const run = () => streamTurn({ userId, conversationId: body.id, turn, kind: body.kind, image: body.image, signal: req.signal });
  // A generation turn (kind "image") is not an answer: it follows the same rule itself (lib/imagegen/answers-first.ts).
  return body.kind === "image" ? run() : asAnswerIntake(loadedCpuActivity, run);
});
