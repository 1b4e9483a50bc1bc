import { z } from "zod";

export const listQuerySchema = z.object({
  cursor: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(30),
  q: z.string().trim().min(1).max(200).optional(),
});

export const createConversationSchema = z.object({
  title: z.string().trim().min(1).max(200).optional(),
  systemPrompt: z.string().max(8000).optional(),
  model: z.string().max(500).optional(),
});
