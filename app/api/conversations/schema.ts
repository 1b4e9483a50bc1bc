import { z } from "zod";
import { samplingSettingsSchema, SYSTEM_PROMPT_MAX } from "@/lib/chat/settings";

export const listQuerySchema = z.object({
  cursor: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(30),
  q: z.string().trim().min(1).max(200).optional(),
});

export const createConversationSchema = z.object({
  title: z.string().trim().min(1).max(200).optional(),
  systemPrompt: z.string().max(SYSTEM_PROMPT_MAX).optional(),
  model: z.string().max(500).optional(),
  settings: samplingSettingsSchema.optional(),
});
