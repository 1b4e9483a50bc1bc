import { z } from "zod";

/** Far above what one local model can spend in a minute; a larger number is a typo. */
export const MAX_TOKENS_PER_MINUTE = 10_000_000;

/** A key's tokens-per-minute cap (prompt + completion tokens); null = no cap. */
const tokensPerMinuteSchema = z
  .number()
  .int("tokensPerMinute must be a whole number")
  .positive("tokensPerMinute must be positive (or null for no cap)")
  .max(MAX_TOKENS_PER_MINUTE, `tokensPerMinute is at most ${MAX_TOKENS_PER_MINUTE}`)
  .nullable();

export const createApiKeySchema = z.object({
  name: z.string().trim().min(1, "name is required").max(100),
  /** ISO date-time; omitted or null = never expires. */
  expiresAt: z.iso.datetime({ offset: true }).nullish(),
  /** Omitted or null = no cap. */
  tokensPerMinute: tokensPerMinuteSchema.optional(),
});
export type CreateApiKey = z.infer<typeof createApiKeySchema>;

export const updateApiKeySchema = z.object({
  tokensPerMinute: tokensPerMinuteSchema,
});
export type UpdateApiKey = z.infer<typeof updateApiKeySchema>;
