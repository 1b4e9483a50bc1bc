export const dynamic = "force-dynamic";

const running = () => new Response("Ollama is running", { headers: { "content-type": "text/plain; charset=utf-8" } });

// GET /ollama – the liveness answer Ollama's clients probe for (no key needed; it tells nothing else)
export function GET() {
  return running();
}

// HEAD /ollama – the same, without the body
export function HEAD() {
  return running();
}
