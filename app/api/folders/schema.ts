import { z } from "zod";

const folderName = z.string().trim().min(1, "must not be empty").max(100, "must be at most 100 characters");

export const createFolderSchema = z.object({ name: folderName }).strict();

export const updateFolderSchema = z
  .object({
    name: folderName.optional(),
    /** Shown closed in the sidebar. */
    collapsed: z.boolean().optional(),
  })
  .strict()
  .refine((v) => v.name !== undefined || v.collapsed !== undefined, "give a name or collapsed to change");
