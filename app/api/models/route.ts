import { z } from "zod";
import { apiHandler, json, parseJson } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { listModels, loadedEngine, switchModel } from "@/lib/engine/get-engine";

export const dynamic = "force-dynamic";

// GET /api/models – the models in the catalog (no file paths) and the one loaded
export const GET = apiHandler(async () => {
  await requireUserId();
  return json({ models: await listModels(), current: loadedEngine()?.model.id ?? null });
});

const switchSchema = z.object({ id: z.string().min(1).max(500) }).strict();

// POST /api/models – load another model for everyone on this server (202: loading; /api/health shows progress)
export const POST = apiHandler(async (req) => {
  await requireUserId();
  const { id } = await parseJson(req, switchSchema);
  await switchModel(id);
  return json({ loading: id }, { status: 202 });
});
