import { z } from "zod";

/** One stored piece of a message, in the order the user wrote it. */
export const messagePartSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text"), text: z.string() }),
  z.object({ type: z.literal("image"), attachmentId: z.string().min(1) }),
  /** A function call the assistant made (through /v1 with tools); `arguments` is the JSON text. */
  z.object({ type: z.literal("tool-call"), id: z.string(), name: z.string(), arguments: z.string() }),
  /** A function's result sent back by the client (its images follow as image parts). */
  z.object({ type: z.literal("tool-result"), toolCallId: z.string(), name: z.string().nullable(), text: z.string() }),
  /**
   * An answer that is a generated image (a generation turn): what was asked of the generator.
   * Saved when the turn starts, so a stopped or failed generation is still known as one (Regenerate
   * draws again); `seed` is the seed of the image made, once there is one (its image part follows).
   */
  z.object({
    type: z.literal("generation"),
    prompt: z.string(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    steps: z.number().int().positive().optional(),
    seed: z.number().int().optional(),
    /** The generator's id (GeneratorInfo.id). */
    generator: z.string(),
  }),
]);
export type MessagePart = z.infer<typeof messagePartSchema>;
export type GenerationPart = Extract<MessagePart, { type: "generation" }>;

export const messagePartsSchema = z.array(messagePartSchema);

/**
 * A message's text as the model reads it: its text parts; a tool result
 * under a line naming the function and call; an answer's tool calls in the
 * JSON shape the model writes them under /v1's tools (lib/openai/tool-calls.ts).
 * One rendering for /v1 and the chat, so a conversation stored through the
 * API reads the same when it is carried on in the chat.
 */
export function modelText(parts: MessagePart[]): string {
  const text = parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("\n");
  const result = parts.find((p) => p.type === "tool-result");
  if (result) return `Result of ${result.name ?? "the function"} (${result.toolCallId}):${result.text ? `\n${result.text}` : ""}`;
  const calls = parts.flatMap((p) => (p.type === "tool-call" ? [p] : []));
  if (!calls.length) return text;
  const json = JSON.stringify({
    tool_calls: calls.map((c) => {
      let args: unknown = c.arguments;
      try {
        args = JSON.parse(c.arguments);
      } catch {
        /* kept as the string the client sent */
      }
      return { name: c.name, arguments: args };
    }),
  });
  return [text, json].filter(Boolean).join("\n");
}

export const messageRoles = ["user", "assistant", "system"] as const;
export type MessageRole = (typeof messageRoles)[number];

export const messageStatuses = ["complete", "streaming", "stopped", "error"] as const;
export type MessageStatus = (typeof messageStatuses)[number];

/** The error of an answer whose instance went away while writing it (closed as `stopped` by the orphan cleanup). */
export const ORPHANED_ANSWER_ERROR = "The server stopped while this answer was being written.";
