import { z } from "zod";

/** One stored piece of a message, in the order the user wrote it. */
export const messagePartSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text"), text: z.string() }),
  z.object({ type: z.literal("image"), attachmentId: z.string().min(1) }),
  /** A function call the assistant made (through /v1 with tools); `arguments` is the JSON text. */
  z.object({ type: z.literal("tool-call"), id: z.string(), name: z.string(), arguments: z.string() }),
  /** A function's result sent back by the client (its images follow as image parts). */
  z.object({ type: z.literal("tool-result"), toolCallId: z.string(), name: z.string().nullable(), text: z.string() }),
]);
export type MessagePart = z.infer<typeof messagePartSchema>;

export const messagePartsSchema = z.array(messagePartSchema);

export const messageRoles = ["user", "assistant", "system"] as const;
export type MessageRole = (typeof messageRoles)[number];

export const messageStatuses = ["complete", "streaming", "stopped", "error"] as const;
export type MessageStatus = (typeof messageStatuses)[number];

/** The error of an answer whose instance went away while writing it (closed as `stopped` by the orphan cleanup). */
export const ORPHANED_ANSWER_ERROR = "The server stopped while this answer was being written.";
