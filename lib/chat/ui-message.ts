import type { UIMessage } from "ai";
import type { StoredMessage } from "@/lib/db/conversations";

/** Per-answer metadata streamed with the UI message and stored with the message. */
export interface ChatAnswerMetadata {
  conversationId?: string;
  assistantMessageId?: string;
  /** Earlier messages left out so the prompt fits the context window. */
  droppedMessages?: number;
  stats?: { ttftMs: number; tokensPerSecond: number; promptTokens: number; reusedTokens: number; completionTokens: number };
  status?: "complete" | "stopped" | "error" | "streaming";
  error?: string | null;
}

export type ChatUIMessage = UIMessage<ChatAnswerMetadata>;

/** Stored messages → what useChat shows (images as their owner-only URLs). */
export function toUIMessages(messages: StoredMessage[]): ChatUIMessage[] {
  return messages
    .filter((m) => m.role !== "system")
    .map((m) => ({
      id: m.id,
      role: m.role as "user" | "assistant",
      parts: [
        ...m.parts.flatMap((p) =>
          p.type === "image" ? [{ type: "file" as const, mediaType: "image/*", url: `/api/uploads/${p.attachmentId}` }] : [],
        ),
        ...m.parts.flatMap((p) => (p.type === "text" && p.text ? [{ type: "text" as const, text: p.text }] : [])),
      ],
      metadata: {
        status: m.status,
        error: m.error,
        stats:
          m.completionTokens !== null
            ? {
                ttftMs: m.ttftMs ?? 0,
                tokensPerSecond: m.tokensPerSecond ?? 0,
                promptTokens: m.promptTokens ?? 0,
                reusedTokens: m.reusedTokens ?? 0,
                completionTokens: m.completionTokens,
              }
            : undefined,
      },
    }));
}
