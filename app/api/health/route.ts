import { pingDatabase } from "@/lib/db/users";

export const dynamic = "force-dynamic";

// GET /api/health – database reachability and model status; public, no secrets
export async function GET() {
  const database = (await pingDatabase()) ? "ok" : "unreachable";
  const body = { status: database === "ok" ? "ok" : "degraded", database, model: { status: "not loaded" } };
  return Response.json(body, { status: database === "ok" ? 200 : 503 });
}
