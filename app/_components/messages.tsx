"use client";

import type { ChatStatus } from "ai";
import type { ReactNode, RefObject } from "react";
import type { ChatUIMessage } from "@/lib/chat/ui-message";
import { MessageView } from "./message-view";

/**
 * The conversation's list: each message of the branch shown, what the context left out, "Thinking…",
 * the error of the last turn, and the sentinel that keeps the list scrolled to its end.
 */
export function Messages({
  messages,
  status,
  error,
  empty,
  bottomRef,
  canSwitchVersions,
  onRegenerate,
  onEdit,
  onContinue,
  onDelete,
  onVersion,
  onView,
}: {
  messages: ChatUIMessage[];
  status: ChatStatus;
  /** The last turn's error, shown under the list (null when there is none, or while offline: the banner says it). */
  error: Error | null;
  /** Shown when there is no message yet. */
  empty: ReactNode;
  bottomRef: RefObject<HTMLDivElement | null>;
  /** False while a question is being edited: the branch must stay as it is. */
  canSwitchVersions: boolean;
  onRegenerate: (answer: ChatUIMessage) => void;
  onEdit: (question: ChatUIMessage) => void;
  /** Writes more of the last answer (cut at its length limit). */
  onContinue: (answer: ChatUIMessage) => void;
  /** Asks to delete a message with its branch. */
  onDelete: (message: ChatUIMessage) => void;
  onVersion: (messageId: string) => void;
  onView: (url: string) => void;
}) {
  const busy = status === "submitted" || status === "streaming";
  const last = messages.at(-1);
  const dropped = messages.findLast((m) => m.role === "assistant")?.metadata?.droppedMessages;
  return (
    <section className="messages" aria-label="Conversation">
      {messages.length === 0 && empty}
      {dropped ? (
        <p className="notice" role="status">
          {dropped} earlier message{dropped === 1 ? "" : "s"} did not fit the model’s context and {dropped === 1 ? "was" : "were"} left out of this answer.
        </p>
      ) : null}
      {messages.map((m, i) => (
        <MessageView
          key={m.id}
          message={m}
          modelChanged={m.role === "assistant" && !generated(m) && Boolean(m.metadata?.model) && (modelBefore(messages, i) ?? m.metadata?.model) !== m.metadata?.model}
          streaming={busy && m.id === last?.id && m.role === "assistant"}
          busy={busy}
          onRegenerate={m.role === "assistant" ? () => onRegenerate(m) : undefined}
          onEdit={m.role === "user" ? () => onEdit(m) : undefined}
          onContinue={m.role === "assistant" && m.id === last?.id ? () => onContinue(m) : undefined}
          onDelete={() => onDelete(m)}
          onVersion={canSwitchVersions ? onVersion : undefined}
          onView={onView}
        />
      ))}
      {status === "submitted" && <p className="muted thinking">Thinking…</p>}
      {error && (
        <p className="error" role="alert">
          {errorMessage(error)}
        </p>
      )}
      <div ref={bottomRef} className="bottom-sentinel" />
    </section>
  );
}

/** The model of the last answer before message `i` that names one (undefined for the first answer); a generated image's generator is no chat model. */
function modelBefore(messages: ChatUIMessage[], i: number): string | null | undefined {
  for (let j = i - 1; j >= 0; j--) if (messages[j]!.role === "assistant" && !generated(messages[j]!) && messages[j]!.metadata?.model) return messages[j]!.metadata!.model;
  return undefined;
}

/** An answer that is a generated image (its caption names the generator). */
const generated = (m: ChatUIMessage) => m.parts.some((p) => p.type === "data-generation");

function errorMessage(error: Error): string {
  try {
    const parsed = JSON.parse(error.message) as { error?: { message?: string } };
    if (parsed.error?.message) return parsed.error.message;
  } catch {
    /* plain text */
  }
  if (error instanceof TypeError) return "The connection to the server was lost while the answer was being written.";
  return error.message || "Something went wrong.";
}
