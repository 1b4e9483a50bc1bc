import { apiHandler, json } from "@/lib/api/handler";
import { loadedEngine } from "@/lib/engine/get-engine";
import { env } from "@/lib/env";
import { listInstalledModels } from "@/lib/models/installed-models";
import { requireAdminUserId } from "@/lib/models/require-admin";

export const dynamic = "force-dynamic";

// GET /api/models/installed – the models folder as it is now: size, family, inputs, fit in RAM/VRAM at CONTEXT_SIZE; admins only
export const GET = apiHandler(async () => {
  await requireAdminUserId();
  const installed = await listInstalledModels({ modelsDir: env.MODELS_DIR, modelPath: env.MODEL_PATH, mmprojPath: env.MMPROJ_PATH, contextSize: env.CONTEXT_SIZE });
  return json({ ...installed, contextSize: env.CONTEXT_SIZE, loaded: loadedEngine()?.model.id ?? null });
});
