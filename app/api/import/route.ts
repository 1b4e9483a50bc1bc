import { apiHandler, json } from "@/lib/api/handler";
import { readJsonBodyOrThrow } from "@/lib/api/read-json-body";
import { importArchive } from "@/lib/archive/import-archive";
import { requireUserId } from "@/lib/auth/session";
import { env } from "@/lib/env";

export const dynamic = "force-dynamic";

// POST /api/import – a JSON export (application/json body) → new conversations in the caller's account
export const POST = apiHandler(async (req) => {
  const userId = await requireUserId();
  const body = await readJsonBodyOrThrow(req, {
    maxBytes: env.IMPORT_MAX_BYTES,
    surface: "import",
    what: "file",
    notJson: "The file is not JSON. Choose a .json file made by Export.",
  });
  const result = await importArchive({ userId, body });
  return json(
    { conversations: result.conversations.map((c) => ({ ...c, url: `/c/${c.id}` })), images: result.images },
    { status: 201 },
  );
});
