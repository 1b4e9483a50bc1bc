import { apiHandler, json, parseJson } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { deleteFolderOrThrow, updateFolderOrThrow } from "@/lib/db/folders";
import { updateFolderSchema } from "../schema";

type Ctx = { params: Promise<{ id: string }> };

// PATCH /api/folders/:id – rename, or open or close it in the sidebar (404 for another user's folder)
export const PATCH = apiHandler<Ctx>(async (req, { params }) => {
  const userId = await requireUserId();
  const body = await parseJson(req, updateFolderSchema);
  const { id } = await params;
  return json({ folder: await updateFolderOrThrow({ id, userId, ...body }) });
});

// DELETE /api/folders/:id – delete the folder; its chats go back to the top level, none is deleted
export const DELETE = apiHandler<Ctx>(async (_req, { params }) => {
  const userId = await requireUserId();
  const { id } = await params;
  await deleteFolderOrThrow({ id, userId });
  return new Response(null, { status: 204 });
});
