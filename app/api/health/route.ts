import { pingDatabase } from "@/lib/db/users";
import { engineHealth } from "@/lib/engine/get-engine";
import { eventLoopDelay } from "@/lib/health/event-loop-delay";

export const dynamic = "force-dynamic";

// GET /api/health – database reachability and model status; public, no secrets
export async function GET() {
  const database = (await pingDatabase()) ? "ok" : "unreachable";
  const ok = database === "ok";
  return Response.json({ status: ok ? "ok" : "degraded", database, model: engineHealth(), eventLoop: eventLoopDelay() }, { status: ok ? 200 : 503 });
}
