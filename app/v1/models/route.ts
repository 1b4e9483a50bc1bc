import { authenticateApiKey } from "@/lib/auth/api-key";
import { engineOrUnavailable } from "@/lib/openai/chat-completions";
import { openAiErrorResponse } from "@/lib/openai/errors";

export const dynamic = "force-dynamic";

// GET /v1/models – the model this server runs (OpenAI's list shape), for an API key
export async function GET(req: Request) {
  try {
    await authenticateApiKey(req.headers.get("authorization"));
    const engine = await engineOrUnavailable();
    // What the model can be sent here: a vision model also takes video (as frames), audio (as a
    // spectrogram) and files (pages, charts); a model whose projector has an audio encoder (Ultravox,
    // Qwen2.5-Omni) hears audio itself. `modalities` is what it reads natively, as llama-server's /props says.
    const vision = engine.info.vision;
    const audio = Boolean(engine.info.audio);
    const model = {
      id: engine.model.id,
      object: "model",
      created: 0,
      owned_by: "local",
      vision,
      input_modalities: vision ? ["text", "image", "video", "audio", "file"] : audio ? ["text", "audio"] : ["text"],
      modalities: { vision, audio },
    };
    return Response.json({ object: "list", data: [model] }, { headers: { "cache-control": "no-store" } });
  } catch (err) {
    return openAiErrorResponse(err);
  }
}
