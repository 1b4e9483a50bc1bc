import { z } from "zod";

export const imageQuerySchema = z.object({
  q: z.string().trim().max(200).optional(),
  cursor: z.string().min(1).max(100).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(24),
  conversationId: z.string().min(1).max(100).optional(),
  /** Stored at or after (ISO date or date-time). */
  from: z.coerce.date().optional(),
  /** Stored before (ISO date or date-time). */
  to: z.coerce.date().optional(),
});

export const classifySchema = z.object({
  labels: z
    .array(z.string().trim().min(1).max(100))
    .min(2, "Give at least two labels.")
    .max(50)
    .refine((l) => new Set(l.map((x) => x.toLowerCase())).size === l.length, "Labels must be different."),
});
