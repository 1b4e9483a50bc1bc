import path from "node:path";
import { pingDatabase } from "@/lib/db/users";
import { engineHealth } from "@/lib/engine/get-engine";
import { eventLoopDelay } from "@/lib/health/event-loop-delay";
import { generatorHealth } from "@/lib/imagegen/service";
import { speechModelDir } from "@/lib/media/decode-media";

export const dynamic = "force-dynamic";

// GET /api/health – database reachability, model status, the image generator and the speech model
// that writes audio transcripts (its folder name, or null); public, no secrets
export async function GET() {
  const database = (await pingDatabase()) ? "ok" : "unreachable";
  const ok = database === "ok";
  const generator = await generatorHealth();
  const speechDir = speechModelDir();
  const speech = speechDir ? { model: path.basename(speechDir) } : null;
  return Response.json(
    { status: ok ? "ok" : "degraded", database, model: engineHealth(), generator, speech, eventLoop: eventLoopDelay() },
    { status: ok ? 200 : 503 },
  );
}
