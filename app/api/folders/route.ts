import { apiHandler, json, parseJson } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { createFolder, listFolders } from "@/lib/db/folders";
import { createFolderSchema } from "./schema";

export const dynamic = "force-dynamic";

// GET /api/folders – the caller's sidebar folders by name, each with its chats (not archived, not pinned), most recently active first
export const GET = apiHandler(async () => {
  const userId = await requireUserId();
  return json({ folders: await listFolders({ userId }) });
});

// POST /api/folders – a new, empty folder
export const POST = apiHandler(async (req) => {
  const userId = await requireUserId();
  const body = await parseJson(req, createFolderSchema);
  return json({ folder: await createFolder({ userId, name: body.name }) }, { status: 201 });
});
