import "server-only";
import { generationOfAnswer, type TurnKind } from "@/lib/db/messages";
import { AppError } from "@/lib/errors";
import { drawPrompt } from "./draw-command";
import { streamChat } from "./stream-chat";
import { streamImage } from "./stream-image";

/**
 * One chat turn, answered by the model (stream-chat.ts) or by an image
 * (stream-image.ts): an image when asked for ("Create image", or a message
 * written as "/draw <prompt>"), and when regenerating an answer that is a
 * generated image (another seed, a new version).
 */
export async function streamTurn({
  userId,
  conversationId,
  turn,
  kind,
  image,
  signal,
}: {
  userId: string;
  conversationId: string;
  turn: TurnKind;
  /** What the client asked the answer to be (a regeneration follows the answer it replaces instead). */
  kind: "answer" | "image";
  /** Size ("WxH"), steps and seed of an image; default the generator's (and a random seed). */
  image?: { size?: string; steps?: number; seed?: number };
  signal: AbortSignal;
}): Promise<Response> {
  if (turn.kind === "continue") return streamChat({ userId, conversationId, turn, signal });
  if (turn.kind === "regenerate") {
    const generation = turn.messageId ? await generationOfAnswer({ conversationId, userId, messageId: turn.messageId }) : null;
    if (!generation) return streamChat({ userId, conversationId, turn, signal });
    const request = { prompt: generation.prompt, size: `${generation.width}x${generation.height}`, steps: generation.steps, notSeed: generation.seed };
    return streamImage({ userId, conversationId, turn, request, signal });
  }
  const text = turn.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("\n");
  const drawn = drawPrompt(text);
  if (kind !== "image" && drawn === null) return streamChat({ userId, conversationId, turn, signal });
  if (turn.parts.some((p) => p.type !== "text")) throw new AppError("bad_request:chat", "An image is made from words only: remove the attached files to create one.");
  return streamImage({ userId, conversationId, turn, request: { prompt: drawn ?? text, ...image }, signal });
}
