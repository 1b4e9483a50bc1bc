import { z } from "zod";

/**
 * A conversation's sampling settings. Every field is optional: what is left
 * out takes the server's default (greedy decoding, the configured answer
 * budget, a random seed).
 */
export const samplingSettingsSchema = z
  .object({
    temperature: z.number().min(0).max(2).optional(),
    topP: z.number().gt(0).max(1).optional(),
    maxTokens: z.number().int().min(1).max(32_768).optional(),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
    /**
     * LoRA adapters to answer with (the loaded model's, by name; scale
     * default 1). Absent: ADAPTERS_AUTO's choice by attachment kind; `[]`: none.
     */
    adapters: z
      .array(z.object({ name: z.string().min(1).max(200), scale: z.number().min(-4).max(4).optional() }).strict())
      .max(8)
      .optional(),
  })
  .strict();
export type SamplingSettings = z.infer<typeof samplingSettingsSchema>;

/** Stored settings, read leniently: an unreadable value counts as the defaults. */
export function readSettings(value: unknown): SamplingSettings {
  const parsed = samplingSettingsSchema.safeParse(value ?? {});
  return parsed.success ? parsed.data : {};
}

export const SYSTEM_PROMPT_MAX = 8000;
