import { authenticateApiKey } from "@/lib/auth/api-key";
import { ollamaErrorResponse } from "@/lib/ollama/errors";
import { ollamaRefusal } from "@/lib/ollama/refusal";

export const dynamic = "force-dynamic";

type Params = { params: Promise<{ path: string[] }> };

/** Model management (pull, push, create, copy, delete, blobs) is refused; any other path is unknown. */
async function refuse(req: Request, { params }: Params) {
  try {
    await authenticateApiKey(req.headers.get("authorization"));
    const { status, error } = ollamaRefusal((await params).path);
    return Response.json({ error }, { status });
  } catch (err) {
    return ollamaErrorResponse(err);
  }
}

// GET, POST, DELETE, HEAD /ollama/api/* – Ollama's model management, refused in its error shape
export { refuse as GET, refuse as POST, refuse as DELETE, refuse as HEAD };
