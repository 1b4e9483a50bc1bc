import { z } from "zod";
import { samplingSettingsSchema, SYSTEM_PROMPT_MAX } from "@/lib/chat/settings";

export const listQuerySchema = z
  .object({
    cursor: z.string().min(1).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(30),
    q: z.string().trim().min(1).max(200).optional(),
    /** main: the sidebar's dated list (pinned first; no archived or filed chats); archived; folder (with folderId). A search (q) covers them all. */
    view: z.enum(["main", "archived", "folder"]).default("main"),
    folderId: z.string().min(1).max(100).optional(),
  })
  .refine((v) => (v.view === "folder") === (v.folderId !== undefined), "view=folder takes a folderId, and only it does");

export const createConversationSchema = z.object({
  title: z.string().trim().min(1).max(200).optional(),
  systemPrompt: z.string().max(SYSTEM_PROMPT_MAX).optional(),
  model: z.string().max(500).optional(),
  settings: samplingSettingsSchema.optional(),
});
