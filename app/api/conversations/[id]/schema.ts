import { z } from "zod";

export const updateConversationSchema = z
  .object({
    title: z.string().trim().min(1).max(200).optional(),
    systemPrompt: z.string().max(8000).nullable().optional(),
  })
  .refine((v) => v.title !== undefined || v.systemPrompt !== undefined, "give a title or a systemPrompt to change");
