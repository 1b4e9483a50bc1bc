import { z } from "zod";
import { apiHandler, json, parseJson } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { samplingSettingsSchema, SYSTEM_PROMPT_MAX } from "@/lib/chat/settings";
import { systemPromptMustFit } from "@/lib/chat/stream-chat";
import { listPresets, savePreset } from "@/lib/db/presets";

export const dynamic = "force-dynamic";

const presetSchema = z
  .object({
    name: z.string().trim().min(1).max(80),
    systemPrompt: z.string().max(SYSTEM_PROMPT_MAX).nullable().default(null),
    settings: samplingSettingsSchema.default({}),
    isDefault: z.boolean().default(false),
  })
  .strict();

// GET /api/presets – the caller's conversation presets
export const GET = apiHandler(async () => {
  const userId = await requireUserId();
  return json({ presets: await listPresets({ userId }) });
});

// POST /api/presets – save a preset (replaces the caller's preset of the same name)
export const POST = apiHandler(async (req) => {
  const userId = await requireUserId();
  const body = await parseJson(req, presetSchema);
  await systemPromptMustFit(body.systemPrompt, body.settings);
  return json({ preset: await savePreset({ userId, ...body }) }, { status: 201 });
});
