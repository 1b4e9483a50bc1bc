import { apiHandler, json } from "@/lib/api/handler";
import { loadedEngine } from "@/lib/engine/get-engine";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { deleteInstalledModel } from "@/lib/models/installed-models";
import { requireAdminUserId } from "@/lib/models/require-admin";

export const dynamic = "force-dynamic";

type Ctx = { params: Promise<{ id: string }> };

// DELETE /api/models/installed/:id – delete a model's files from the models folder (not the loaded one); admins only
export const DELETE = apiHandler<Ctx>(async (_req, { params }) => {
  await requireAdminUserId();
  const { id } = await params;
  if (loadedEngine()?.model.id === id) throw new AppError("conflict:model", "This model is loaded. Load another one first, then delete it.");
  if (!(await deleteInstalledModel({ id, modelsDir: env.MODELS_DIR }))) throw new AppError("not_found:model", "No such model in the models folder.");
  return json({ deleted: id });
});
