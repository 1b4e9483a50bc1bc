import { z } from "zod";
import { THEMES } from "@/lib/theme";

export const updateAccountSchema = z
  .object({
    /** The display name shown in the sidebar; empty or null: none (the email is shown). */
    name: z.string().trim().max(100, "must be at most 100 characters").nullable().optional(),
    /** The colour scheme: system (the browser's), light or dark. */
    theme: z.enum(THEMES).optional(),
  })
  .strict()
  .refine((v) => v.name !== undefined || v.theme !== undefined, "give a name or a theme to change");
export type UpdateAccount = z.infer<typeof updateAccountSchema>;
