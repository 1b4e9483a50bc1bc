import { z } from "zod";

/** `?format=json` (default: every branch, images included) or `?format=markdown` (a zip of the shown branches). */
export const exportQuerySchema = z.object({
  format: z.enum(["json", "markdown"]).default("json"),
});
