import { z } from "zod";

export const createApiKeySchema = z.object({
  name: z.string().trim().min(1, "name is required").max(100),
  /** ISO date-time; omitted or null = never expires. */
  expiresAt: z.iso.datetime({ offset: true }).nullish(),
});
export type CreateApiKey = z.infer<typeof createApiKeySchema>;
