"use client";

import { memo, useState } from "react";
import type { ChatUIMessage } from "@/lib/chat/ui-message";
import { AttachmentView } from "./attachment-view";
import { GenerationView } from "./generation-view";
import { Markdown } from "./markdown";
import { ToolPartView } from "./tool-part-view";

/** Questions longer than this are folded until the reader asks for all of it. */
const LONG_QUESTION = 600;

/** Memoised: while one answer streams, the earlier messages do not re-render. */
export const MessageView = memo(function MessageView({
  message,
  modelChanged = false,
  streaming,
  busy,
  onRegenerate,
  onEdit,
  onContinue,
  onDelete,
  onVersion,
  onView,
}: {
  message: ChatUIMessage;
  /** The model differs from the previous answer's (the user switched): say so on this answer. */
  modelChanged?: boolean;
  streaming: boolean;
  /** An answer is being written: nothing that starts another turn is offered. */
  busy: boolean;
  onRegenerate?: () => void;
  onEdit?: () => void;
  /** Writes more of this answer (offered when it was cut at its length limit). */
  onContinue?: () => void;
  /** Asks to delete this message with its branch. */
  onDelete?: () => void;
  /** Shows another version; absent while that is not possible (an edit in progress). */
  onVersion?: (messageId: string) => void;
  onView: (url: string) => void;
}) {
  const [copied, setCopied] = useState(false);
  const [expanded, setExpanded] = useState(false);
  const text = message.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("\n");
  const images = message.parts.flatMap((p) => (p.type === "file" ? [{ url: p.url, mediaType: p.mediaType }] : []));
  const tools = message.parts.flatMap((p) => (p.type === "data-tool-call" || p.type === "data-tool-result" ? [p] : []));
  // A generated image's request, and how far it has come while it is made.
  const generation = message.parts.find((p) => p.type === "data-generation")?.data;
  const progress = message.parts.findLast((p) => p.type === "data-image-progress")?.data;
  const meta = message.metadata;
  const stats = meta?.stats;
  const versions = meta?.versions;
  const user = message.role === "user";
  const long = user && text.length > LONG_QUESTION;
  return (
    <article className={`message message-${message.role}${streaming ? " message-streaming" : ""}`} aria-label={user ? "You" : "Assistant"}>
      {images.length > 0 && (
        <div className="message-images">
          {images.map(({ url, mediaType }) => (
            <AttachmentView key={url} url={url} mediaType={mediaType} onView={onView} alt={generation ? `Generated image: ${generation.prompt}` : undefined} />
          ))}
        </div>
      )}
      {generation && <GenerationView generation={generation} progress={progress} streaming={streaming} made={images.length > 0} />}
      {tools.map((p, i) => (
        <ToolPartView key={i} part={p} />
      ))}
      {modelChanged && <p className="muted small model-note">Answered by {meta?.model}</p>}
      {/* Only the answer being written is announced; the rest of the list stays quiet. */}
      <div className="message-body" aria-live={streaming ? "polite" : undefined}>
        {!user ? (
          // A generated image has no text: no empty paragraph (nor its typing caret) under it.
          (text || !generation) && <Markdown text={text} streaming={streaming} />
        ) : (
          text && (
            <>
              <p className={`message-text${long && !expanded ? " message-folded" : ""}`}>{text}</p>
              {long && (
                <button type="button" className="link-button" aria-expanded={expanded} onClick={() => setExpanded(!expanded)}>
                  {expanded ? "Show less" : "Show all"}
                </button>
              )}
            </>
          )
        )}
      </div>
      {!streaming && meta?.status === "streaming" && <p className="muted small">Not finished when this page loaded: checking what was saved…</p>}
      {!streaming && meta?.status === "stopped" && <p className="muted small">Stopped{meta.error ? `: ${meta.error}` : "."}</p>}
      {!streaming && meta?.status !== "stopped" && meta?.finishReason === "length" && (
        <p className="muted small">Cut off: the answer reached its length limit{stats ? ` (${stats.completionTokens} tokens)` : ""}.</p>
      )}
      {meta?.status === "error" && <p className="error small">{meta.error ?? "The answer failed."}</p>}
      <div className="message-actions">
        {versions && (
          <span className="versions" role="group" aria-label={user ? "Question versions" : "Answer versions"}>
            <button
              type="button"
              className="link-button"
              aria-label="Previous version"
              disabled={busy || !onVersion || versions.index === 0}
              onClick={() => onVersion?.(versions.ids[versions.index - 1]!)}
            >
              ‹
            </button>
            <span className="muted" aria-hidden>
              {versions.index + 1}/{versions.ids.length}
            </span>
            <span className="sr-only">
              Version {versions.index + 1} of {versions.ids.length}
            </span>
            <button
              type="button"
              className="link-button"
              aria-label="Next version"
              disabled={busy || !onVersion || versions.index === versions.ids.length - 1}
              onClick={() => onVersion?.(versions.ids[versions.index + 1]!)}
            >
              ›
            </button>
          </span>
        )}
        {!user && !streaming && text && (
          <button
            type="button"
            className="link-button"
            onClick={async () => {
              await navigator.clipboard?.writeText(text);
              setCopied(true);
              setTimeout(() => setCopied(false), 1500);
            }}
          >
            {copied ? "Copied" : "Copy"}
          </button>
        )}
        {onRegenerate && !busy && (
          <button type="button" className="link-button" onClick={onRegenerate}>
            Regenerate
          </button>
        )}
        {onEdit && !busy && (
          <button type="button" className="link-button" onClick={onEdit}>
            Edit
          </button>
        )}
        {onContinue && !busy && meta?.status === "complete" && meta.finishReason === "length" && (
          <button type="button" className="link-button" onClick={onContinue}>
            Continue
          </button>
        )}
        {onDelete && !busy && (
          <button type="button" className="link-button" aria-label={user ? "Delete this question" : "Delete this answer"} onClick={onDelete}>
            Delete
          </button>
        )}
        {stats && !streaming && (
          <details className="stats-details">
            <summary aria-label="Answer details" title="Answer details">
              i
            </summary>
            <span className="stats muted">
              {meta?.model ? `${meta.model} · ` : ""}
              {(stats.ttftMs / 1000).toFixed(2)} s to first token · {stats.tokensPerSecond.toFixed(1)} tok/s · {stats.completionTokens} tokens · prompt{" "}
              {stats.promptTokens} ({stats.reusedTokens} cached)
              {stats.adapters?.length ? ` · adapters: ${stats.adapters.map((a) => (a.scale === 1 ? a.name : `${a.name} ×${a.scale}`)).join(", ")}` : ""}
            </span>
          </details>
        )}
      </div>
    </article>
  );
});
