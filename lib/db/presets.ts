import "server-only";
import { readSettings, type SamplingSettings } from "@/lib/chat/settings";
import { AppError } from "@/lib/errors";
import { db } from "./client";

/** A named set of conversation settings. */
export interface PresetRecord {
  id: string;
  name: string;
  systemPrompt: string | null;
  settings: SamplingSettings;
  isDefault: boolean;
}

const select = { id: true, name: true, systemPrompt: true, settings: true, isDefault: true } as const;
const toRecord = (row: { id: string; name: string; systemPrompt: string | null; settings: unknown; isDefault: boolean }): PresetRecord => ({
  ...row,
  settings: readSettings(row.settings),
});

export async function listPresets({ userId }: { userId: string }): Promise<PresetRecord[]> {
  return (await db.preset.findMany({ where: { userId }, orderBy: { name: "asc" }, select })).map(toRecord);
}

/** The user's default preset, which new conversations start from. */
export async function defaultPreset({ userId }: { userId: string }): Promise<PresetRecord | null> {
  const row = await db.preset.findFirst({ where: { userId, isDefault: true }, select });
  return row ? toRecord(row) : null;
}

/**
 * Creates or replaces (by name) one of the user's presets. At most one is
 * the default: making one the default unsets the others in the same transaction.
 */
export async function savePreset({
  userId,
  name,
  systemPrompt,
  settings,
  isDefault,
}: {
  userId: string;
  name: string;
  systemPrompt: string | null;
  settings: SamplingSettings;
  isDefault: boolean;
}): Promise<PresetRecord> {
  return db.$transaction(async (tx) => {
    if (isDefault) await tx.preset.updateMany({ where: { userId, isDefault: true, NOT: { name } }, data: { isDefault: false } });
    const row = await tx.preset.upsert({
      where: { userId_name: { userId, name } },
      create: { userId, name, systemPrompt, settings, isDefault },
      update: { systemPrompt, settings, isDefault },
      select,
    });
    return toRecord(row);
  });
}

/** Deletes one of the user's presets; another user's id is "not found". */
export async function deletePresetOrThrow({ id, userId }: { id: string; userId: string }): Promise<void> {
  const { count } = await db.preset.deleteMany({ where: { id, userId } });
  if (count === 0) throw new AppError("not_found:preset", "No such preset.");
}
