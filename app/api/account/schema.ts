import { z } from "zod";

export const updateAccountSchema = z.object({
  /** The display name shown in the sidebar; empty or null: none (the email is shown). */
  name: z.string().trim().max(100, "must be at most 100 characters").nullable(),
});
export type UpdateAccount = z.infer<typeof updateAccountSchema>;
