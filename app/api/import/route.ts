import { apiHandler, json } from "@/lib/api/handler";
import { readBodyOrThrow } from "@/lib/api/read-body";
import { importArchive } from "@/lib/archive/import-archive";
import { AppError } from "@/lib/errors";
import { requireUserId } from "@/lib/auth/session";
import { env } from "@/lib/env";

export const dynamic = "force-dynamic";

// POST /api/import – a JSON export (application/json body) → new conversations in the caller's account
export const POST = apiHandler(async (req) => {
  const userId = await requireUserId();
  if (!/^application\/json\s*(;|$)/i.test(req.headers.get("content-type") ?? "")) {
    throw new AppError("unsupported_media_type:import", "Send the request as application/json.");
  }
  // Parsed on a worker thread, not here: a large file must not hold the server (lib/archive/parse-in-worker.ts).
  const bytes = await readBodyOrThrow(req, { maxBytes: env.IMPORT_MAX_BYTES, surface: "import", what: "file" });
  const result = await importArchive({ userId, bytes });
  return json(
    { conversations: result.conversations.map((c) => ({ ...c, url: `/c/${c.id}` })), images: result.images, ...(result.media ? { media: result.media } : {}) },
    { status: 201 },
  );
});
