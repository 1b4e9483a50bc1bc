import { openAiErrorResponse } from "@/lib/openai/errors";

/**
 * Any thrown value → Ollama's error shape, `{"error": "..."}`, with the
 * status (and Retry-After) the OpenAI-compatible API gives the same failure.
 * Ollama's clients show only the message, so the parameter at fault leads it.
 */
export async function ollamaErrorResponse(err: unknown): Promise<Response> {
  const res = openAiErrorResponse(err);
  const { error } = (await res.json()) as { error: { message: string; param: string | null } };
  const message = error.param && !error.message.startsWith(error.param) ? `${error.param}: ${error.message}` : error.message;
  const headers = new Headers({ "cache-control": "no-store" });
  const retry = res.headers.get("retry-after");
  if (retry) headers.set("retry-after", retry);
  return Response.json({ error: message }, { status: res.status, headers });
}
