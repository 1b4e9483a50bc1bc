import { z } from "zod";

/** The path of one message of a conversation. */
export const messageParamsSchema = z.object({ id: z.string().min(1).max(64), messageId: z.string().min(1).max(64) });
