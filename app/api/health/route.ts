import { pingDatabase } from "@/lib/db/users";
import { engineHealth } from "@/lib/engine/get-engine";
import { eventLoopDelay } from "@/lib/health/event-loop-delay";
import { generatorHealth } from "@/lib/imagegen/service";

export const dynamic = "force-dynamic";

// GET /api/health – database reachability, model status and the image generator; public, no secrets
export async function GET() {
  const database = (await pingDatabase()) ? "ok" : "unreachable";
  const ok = database === "ok";
  const generator = await generatorHealth();
  return Response.json({ status: ok ? "ok" : "degraded", database, model: engineHealth(), generator, eventLoop: eventLoopDelay() }, { status: ok ? 200 : 503 });
}
