import { apiHandler, json } from "@/lib/api/handler";
import { AppError } from "@/lib/errors";
import { cancelPull } from "@/lib/models/pull-jobs";
import { requireAdminUserId } from "@/lib/models/require-admin";

export const dynamic = "force-dynamic";

type Ctx = { params: Promise<{ id: string }> };

// DELETE /api/models/pulls/:id – cancel a running pull and delete its partial files; admins only
export const DELETE = apiHandler<Ctx>(async (_req, { params }) => {
  await requireAdminUserId();
  const { id } = await params;
  if (!cancelPull(id)) throw new AppError("not_found:pull", "No such pull is running.");
  return json({ cancelled: id });
});
