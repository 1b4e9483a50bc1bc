import { authenticateApiKey } from "@/lib/auth/api-key";
import { currentGenerator } from "@/lib/imagegen/service";
import { engineOrUnavailable } from "@/lib/openai/chat-completions";
import { openAiErrorResponse } from "@/lib/openai/errors";

export const dynamic = "force-dynamic";

// GET /v1/models – the chat model this server runs, then its image generator if any (OpenAI's list shape), for an API key
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
      output_modalities: ["text"],
      modalities: { vision, audio },
      // Extension: the LoRA adapters a request may name (`adapters`), refused ones with the reason.
      adapters: engine.adapters().map((a) => ({ name: a.name, kinds: a.kinds, ...(a.description ? { description: a.description } : {}), ...(a.refused ? { refused: a.refused } : {}) })),
    };
    // The image generator (POST /v1/images/generations): text in, images out. Listed second, so
    // clients that take the first model still get the chat model.
    const generator = await currentGenerator();
    const images = generator && {
      id: generator.info.id,
      object: "model",
      created: 0,
      owned_by: generator.info.kind,
      input_modalities: ["text"],
      output_modalities: ["image"],
      sizes: generator.info.sizes,
    };
    return Response.json({ object: "list", data: images ? [model, images] : [model] }, { headers: { "cache-control": "no-store" } });
  } catch (err) {
    return openAiErrorResponse(err);
  }
}
