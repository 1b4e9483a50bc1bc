import { env } from "@/lib/env";
import { readJsonBody } from "@/lib/openai/read-body";

/** Room for four full-size images as base64 plus the text of a long conversation (as /v1/chat/completions). */
export const ollamaMaxBody = () => Math.ceil(env.UPLOAD_MAX_BYTES * 1.37) * 4 + 4 * 1024 * 1024;

/**
 * The JSON body of an Ollama API request, whatever its content type: Ollama
 * reads any, and its documented `curl -d` calls send a form's type. The
 * app's other JSON routes refuse non-JSON types to stop cross-site form
 * posts; these routes need a bearer key, which no form can send.
 */
export function readOllamaBody(req: Request, maxBytes = ollamaMaxBody()): Promise<unknown> {
  if (/^application\/json\s*(;|$)/i.test(req.headers.get("content-type") ?? "")) return readJsonBody(req, maxBytes);
  const headers = new Headers(req.headers);
  headers.set("content-type", "application/json");
  return readJsonBody(new Request(req.url, { method: req.method, headers, body: req.body, signal: req.signal, duplex: "half" } as RequestInit), maxBytes);
}
