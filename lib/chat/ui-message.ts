import type { UIMessage } from "ai";
import { z } from "zod";
import type { StoredMessage } from "@/lib/db/conversations";

/** Per-answer metadata streamed with the UI message and stored with the message. */
export interface ChatAnswerMetadata {
  conversationId?: string;
  assistantMessageId?: string;
  /** The question's id in the database (the client made up its own while sending). */
  userMessageId?: string;
  /** The model that wrote the answer (its catalog name). */
  model?: string | null;
  /** "length" when the answer stopped at its token budget. */
  finishReason?: string | null;
  /** This message's versions (edits of a question, regenerations of an answer), oldest first. */
  versions?: { ids: string[]; index: number };
  /** Earlier messages left out so the prompt fits the context window. */
  droppedMessages?: number;
  stats?: {
    ttftMs: number;
    tokensPerSecond: number;
    promptTokens: number;
    reusedTokens: number;
    completionTokens: number;
    /** LoRA adapters the answer was generated with (absent: none). */
    adapters?: { name: string; scale: number }[];
  };
  status?: "complete" | "stopped" | "error" | "streaming";
  error?: string | null;
}

/** A function call an answer made, as the conversation shows it (`arguments` is JSON text). */
export interface ToolCallData {
  name: string;
  arguments: string;
}
/** A function's result sent back through the API. */
export interface ToolResultData {
  name: string | null;
  text: string;
}

/** A generation turn's request (and, once made, the image's seed): the stored `generation` part. */
export interface GenerationData {
  prompt: string;
  width: number;
  height: number;
  steps?: number;
  seed?: number;
  generator: string;
}
/** How far the image being generated has come, with what it looks like so far where the generator shows it. */
export interface ImageProgressData {
  step: number;
  steps: number;
  /** A data: URL of the preview (PNG), when the generator gives one. */
  preview?: string;
}

export type ChatUIMessage = UIMessage<
  ChatAnswerMetadata,
  { "tool-call": ToolCallData; "tool-result": ToolResultData; generation: GenerationData; "image-progress": ImageProgressData }
>;

type StatsColumns = {
  ttftMs: number | null;
  tokensPerSecond: number | null;
  promptTokens: number | null;
  reusedTokens: number | null;
  completionTokens: number | null;
  /** The JSON column as read (readAnswer) or already parsed (StoredMessage): [{ name, scale }]; anything else reads as none. */
  adapters?: unknown;
};

const adaptersSchema = z.array(z.object({ name: z.string(), scale: z.number() })).min(1);

/** An answer's speed line from its saved row, or undefined before its counts are saved. */
export function answerStats(row: StatsColumns): ChatAnswerMetadata["stats"] {
  if (row.completionTokens === null) return undefined;
  return {
    ttftMs: row.ttftMs ?? 0,
    tokensPerSecond: row.tokensPerSecond ?? 0,
    promptTokens: row.promptTokens ?? 0,
    reusedTokens: row.reusedTokens ?? 0,
    completionTokens: row.completionTokens,
    ...(adaptersSchema.safeParse(row.adapters).success ? { adapters: adaptersSchema.parse(row.adapters) } : {}),
  };
}

/**
 * The branch shown → what useChat shows (images as their owner-only URLs),
 * with each message's versions.
 */
export function toUIMessages(path: StoredMessage[], versions?: Map<string, { ids: string[]; index: number }>): ChatUIMessage[] {
  return path
    .filter((m) => m.role !== "system")
    .map((m) => ({
      id: m.id,
      role: m.role as "user" | "assistant",
      parts: [
        ...m.parts.flatMap((p) =>
          p.type === "image" ? [{ type: "file" as const, mediaType: "image/*", url: `/api/uploads/${p.attachmentId}` }] : [],
        ),
        ...m.parts.flatMap((p) => (p.type === "text" && p.text ? [{ type: "text" as const, text: p.text }] : [])),
        // Function calls and results that came through /v1 with tools (store: true).
        ...m.parts.flatMap((p): ChatUIMessage["parts"] =>
          p.type === "tool-call"
            ? [{ type: "data-tool-call", data: { name: p.name, arguments: p.arguments } }]
            : p.type === "tool-result"
              ? [{ type: "data-tool-result", data: { name: p.name, text: p.text } }]
              : p.type === "generation"
                ? [{ type: "data-generation", id: "generation", data: { prompt: p.prompt, width: p.width, height: p.height, steps: p.steps, seed: p.seed, generator: p.generator } }]
                : [],
        ),
      ],
      metadata: {
        status: m.status,
        error: m.error,
        model: m.model,
        finishReason: m.finishReason,
        versions: (versions?.get(m.id)?.ids.length ?? 0) > 1 ? versions!.get(m.id) : undefined,
        stats: answerStats(m),
      },
    }));
}
