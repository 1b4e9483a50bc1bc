import { z } from "zod";
import { samplingSettingsSchema, SYSTEM_PROMPT_MAX } from "@/lib/chat/settings";

export const updateConversationSchema = z
  .object({
    title: z.string().trim().min(1).max(200).optional(),
    systemPrompt: z.string().max(SYSTEM_PROMPT_MAX).nullable().optional(),
    /** null = back to the defaults. */
    settings: samplingSettingsSchema.nullable().optional(),
    /** The folder to file it in (the caller's); null = back to the top level. */
    folderId: z.string().min(1).max(100).nullable().optional(),
    /** Pinned to the top of the sidebar. */
    pinned: z.boolean().optional(),
    /** Out of the sidebar, under Archived (it still opens, and is still searched and exported). */
    archived: z.boolean().optional(),
  })
  .strict()
  .refine((v) => Object.values(v).some((x) => x !== undefined), "give a title, systemPrompt, settings, folderId, pinned or archived to change");
