import { z } from "zod";

/** Images are referenced by the URL the upload returned; nothing else is accepted. */
export const UPLOAD_URL = /^\/api\/uploads\/([A-Za-z0-9_-]{1,64})$/;

const textPart = z.object({ type: z.literal("text"), text: z.string().max(32_000) });
const filePart = z.object({
  type: z.literal("file"),
  mediaType: z.string().regex(/^image\//, "only images can be attached"),
  url: z.string().regex(UPLOAD_URL, "images must be uploaded first (remote URLs and file paths are not accepted)"),
  filename: z.string().max(500).optional(),
});

/** What the chat page's useChat transport sends: the conversation id and only the new message. */
export const chatRequestSchema = z
  .object({
    id: z.string().min(1).max(64),
    trigger: z.enum(["submit-message", "regenerate-message"]).default("submit-message"),
    message: z
      .object({
        id: z.string().max(100).optional(),
        role: z.literal("user"),
        parts: z.array(z.discriminatedUnion("type", [textPart, filePart])).min(1).max(65),
      })
      .optional(),
    /**
     * With submit-message: the question this one is a new version of (a new
     * branch from there). With regenerate-message: the answer to write again.
     */
    messageId: z.string().min(1).max(64).optional(),
    /** With a new question: the last message the page shows, which the question follows. */
    parentId: z.string().min(1).max(64).optional(),
  })
  .refine((b) => b.trigger === "regenerate-message" || b.message, { message: "a message is required", path: ["message"] });
export type ChatRequest = z.infer<typeof chatRequestSchema>;
