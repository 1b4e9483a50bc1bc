import { NextResponse } from "next/server";
import { apiHandler } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { imageGeneratorStatus } from "@/lib/chat/image-generator-status";

export const dynamic = "force-dynamic";

// GET /api/chat/generator – the image generator the composer's "Create image" uses (its sizes and steps), or why there is none
export const GET = apiHandler(async () => {
  await requireUserId();
  return NextResponse.json(await imageGeneratorStatus(), { headers: { "cache-control": "no-store" } });
});
