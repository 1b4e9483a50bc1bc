import { z } from "zod";

export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.email("must be a valid email address").max(254));

export const credentialsSchema = z.object({
  email: emailSchema,
  password: z.string().min(1).max(200),
});

export const signUpSchema = z.object({
  email: emailSchema,
  password: z.string().min(8, "must be at least 8 characters").max(200, "must be at most 200 characters"),
  name: z.string().trim().min(1).max(100).optional(),
});
export type SignUp = z.infer<typeof signUpSchema>;
