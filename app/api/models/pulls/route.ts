import { z } from "zod";
import { apiHandler, json, parseJson } from "@/lib/api/handler";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { PullError } from "@/lib/models/pull-error";
import { listPulls, startPull } from "@/lib/models/pull-jobs";
import { requireAdminUserId } from "@/lib/models/require-admin";

export const dynamic = "force-dynamic";

// GET /api/models/pulls – pulls started from the Models page, with progress; admins only
export const GET = apiHandler(async () => {
  await requireAdminUserId();
  return json({ pulls: listPulls() });
});

const pullSchema = z.object({ name: z.string().min(3).max(300) }).strict();

// POST /api/models/pulls – pull <owner>/<repo>[:<quant>] from HF_ENDPOINT into MODELS_DIR (202; poll GET); admins only
export const POST = apiHandler(async (req) => {
  await requireAdminUserId();
  const { name } = await parseJson(req, pullSchema);
  try {
    return json({ pull: startPull({ name, modelsDir: env.MODELS_DIR }) }, { status: 202 });
  } catch (err) {
    if (err instanceof PullError) throw new AppError(err.code === "busy" ? "conflict:pull" : "bad_request:pull", err.message);
    throw err;
  }
});
