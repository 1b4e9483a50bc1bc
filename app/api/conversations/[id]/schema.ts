import { z } from "zod";
import { samplingSettingsSchema, SYSTEM_PROMPT_MAX } from "@/lib/chat/settings";

export const updateConversationSchema = z
  .object({
    title: z.string().trim().min(1).max(200).optional(),
    systemPrompt: z.string().max(SYSTEM_PROMPT_MAX).nullable().optional(),
    /** null = back to the defaults. */
    settings: samplingSettingsSchema.nullable().optional(),
  })
  .strict()
  .refine((v) => v.title !== undefined || v.systemPrompt !== undefined || v.settings !== undefined, "give a title, a systemPrompt or settings to change");
