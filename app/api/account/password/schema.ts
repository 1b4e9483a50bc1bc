import { z } from "zod";

export const changePasswordSchema = z.object({
  currentPassword: z.string().min(1, "the current password is required").max(200),
  newPassword: z.string().min(8, "must be at least 8 characters").max(200, "must be at most 200 characters"),
});
export type ChangePassword = z.infer<typeof changePasswordSchema>;
