import { z } from "zod";
import { apiHandler, json, parseJson } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { isAdmin } from "@/lib/db/users";
import { listModels, loadedEngine, switchModel } from "@/lib/engine/get-engine";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";

export const dynamic = "force-dynamic";

// GET /api/models – the models in the catalog (no file paths), the one loaded, and whether the caller may switch
export const GET = apiHandler(async () => {
  const userId = await requireUserId();
  return json({ models: await listModels(), current: loadedEngine()?.model.id ?? null, canSwitch: await isAdmin({ userId, adminEmails: env.ADMIN_EMAILS }) });
});

const switchSchema = z.object({ id: z.string().min(1).max(500) }).strict();

// POST /api/models – load another model for everyone on this server (202: loading; /api/health shows progress); admins only
export const POST = apiHandler(async (req) => {
  const userId = await requireUserId();
  const { id } = await parseJson(req, switchSchema);
  if (!(await isAdmin({ userId, adminEmails: env.ADMIN_EMAILS }))) {
    throw new AppError("forbidden:model", "Only the server's administrator can change the model (ADMIN_EMAILS; by default the first account).");
  }
  await switchModel(id);
  return json({ loading: id }, { status: 202 });
});
