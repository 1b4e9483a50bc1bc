import "server-only";
import { fileURLToPath } from "node:url";
import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3Prompt,
  LanguageModelV3StreamPart,
} from "@ai-sdk/provider";
import type { Engine } from "@/lib/engine/engine";
import type { AdapterRequest } from "@/lib/engine/adapters";
import type { EngineMessage, GenerationUsage } from "@/lib/engine/types";

/**
 * The local engine as an AI SDK language model, so `streamText`, the UI
 * message stream and `useChat` work as designed. Images arrive as `file`
 * parts whose data is a `file://` URL of a normalised upload (the chat
 * layer builds them; clients can never send paths).
 */
export function engineModel(
  engine: Engine,
  { sessionKey, admitted, adapters }: { sessionKey?: string; admitted?: boolean; /** LoRA adapters to answer with (see GenerateRequest.adapters). */ adapters?: AdapterRequest[] } = {},
): LanguageModelV3 {
  return {
    specificationVersion: "v3",
    provider: "local",
    modelId: engine.model.id,
    // file:// image URLs go to the engine untouched; nothing is downloaded.
    supportedUrls: { "image/*": [/^file:\/\//] },
    async doGenerate(options: LanguageModelV3CallOptions) {
      // The same generation as doStream, collected.
      const { stream } = await this.doStream(options);
      let text = "";
      let finish: Extract<LanguageModelV3StreamPart, { type: "finish" }> | undefined;
      const reader = stream.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (value.type === "text-delta") text += value.delta;
        else if (value.type === "finish") finish = value;
        else if (value.type === "error") throw value.error;
      }
      return {
        content: [{ type: "text", text }],
        finishReason: finish!.finishReason,
        usage: finish!.usage,
        providerMetadata: finish!.providerMetadata,
        warnings: [],
      };
    },
    async doStream(options: LanguageModelV3CallOptions) {
      const messages = toEngineMessages(options.prompt);
      const events = engine.generate({
        messages,
        sessionKey,
        maxTokens: options.maxOutputTokens ?? 512,
        sampling: {
          temperature: options.temperature,
          topK: options.topK,
          topP: options.topP,
          seed: options.seed,
        },
        signal: options.abortSignal,
        admitted,
        adapters,
      });
      const stream = new ReadableStream<LanguageModelV3StreamPart>({
        async start(controller) {
          controller.enqueue({ type: "stream-start", warnings: [] });
          controller.enqueue({ type: "text-start", id: "0" });
          try {
            for await (const event of events) {
              if (event.type === "delta") {
                controller.enqueue({ type: "text-delta", id: "0", delta: event.text });
                continue;
              }
              controller.enqueue({ type: "text-end", id: "0" });
              if (event.usage.finishReason === "error") {
                controller.enqueue({ type: "error", error: new Error(event.usage.error ?? "The model failed.") });
              }
              controller.enqueue(finishPart(event.usage));
            }
            controller.close();
          } catch (err) {
            controller.enqueue({ type: "error", error: err });
            controller.close();
          }
        },
        cancel() {
          // The consumer went away: stop generating (frees the slot).
          void events.return(undefined);
        },
      });
      return { stream };
    },
  };
}

function finishPart(usage: GenerationUsage): LanguageModelV3StreamPart {
  return {
    type: "finish",
    finishReason: {
      unified: usage.finishReason === "length" ? "length" : usage.finishReason === "error" ? "error" : usage.finishReason === "aborted" ? "other" : "stop",
      raw: usage.finishReason,
    },
    usage: {
      inputTokens: {
        total: usage.promptTokens,
        noCache: usage.evaluatedPromptTokens,
        cacheRead: usage.reusedPromptTokens,
        cacheWrite: undefined,
      },
      outputTokens: { total: usage.completionTokens, text: usage.completionTokens, reasoning: undefined },
    },
    providerMetadata: {
      local: {
        ttftMs: Math.round(usage.ttftMs),
        tokensPerSecond: Math.round(usage.tokensPerSecond * 10) / 10,
        queueMs: Math.round(usage.queueMs),
        finishReason: usage.finishReason,
        ...(usage.adapters ? { adapters: usage.adapters } : {}),
      },
    },
  };
}

/** AI SDK prompt → engine messages (text joined; images as file paths, before the text). */
export function toEngineMessages(prompt: LanguageModelV3Prompt): EngineMessage[] {
  return prompt.map((m): EngineMessage => {
    if (m.role === "system") return { role: "system", text: m.content };
    if (m.role === "tool") throw new Error("Tools are not supported by the local engine.");
    const texts: string[] = [];
    const images: string[] = [];
    for (const part of m.content) {
      if (part.type === "text") texts.push(part.text);
      else if (part.type === "file" && part.mediaType.startsWith("image/")) {
        const data = part.data;
        const url = data instanceof URL ? data : typeof data === "string" && data.startsWith("file://") ? new URL(data) : null;
        if (!url || url.protocol !== "file:") throw new Error("Images must reach the engine as stored files.");
        images.push(fileURLToPath(url));
      }
    }
    return { role: m.role, text: texts.join("\n"), images: images.length ? images : undefined };
  });
}
