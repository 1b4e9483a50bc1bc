"use client";

import { memo, useState } from "react";
import type { ChatUIMessage } from "@/lib/chat/ui-message";
import { Markdown } from "./markdown";

/** Memoised: while one answer streams, the earlier messages do not re-render. */
export const MessageView = memo(function MessageView({
  message,
  streaming,
  onRegenerate,
  onEdit,
}: {
  message: ChatUIMessage;
  streaming: boolean;
  onRegenerate?: () => void;
  onEdit?: () => void;
}) {
  const [copied, setCopied] = useState(false);
  const text = message.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("\n");
  const images = message.parts.flatMap((p) => (p.type === "file" ? [p.url] : []));
  const meta = message.metadata;
  const stats = meta?.stats;
  return (
    <article className={`message message-${message.role}`} aria-label={message.role === "user" ? "You" : "Assistant"}>
      {images.length > 0 && (
        <div className="message-images">
          {images.map((url) => (
            <a key={url} href={url} target="_blank" rel="noreferrer">
              {/* eslint-disable-next-line @next/next/no-img-element */}
              <img src={url} alt="Attached image" />
            </a>
          ))}
        </div>
      )}
      {message.role === "assistant" ? <Markdown text={text} /> : text && <p className="message-text">{text}</p>}
      {streaming && <span className="cursor" aria-hidden />}
      {meta?.status === "stopped" && !streaming && <p className="muted small">Stopped{meta.error ? `: ${meta.error}` : "."}</p>}
      {meta?.status === "error" && <p className="error small">{meta.error ?? "The answer failed."}</p>}
      <div className="message-actions">
        {message.role === "assistant" && !streaming && text && (
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
        {onRegenerate && (
          <button type="button" className="link-button" onClick={onRegenerate}>
            Regenerate
          </button>
        )}
        {onEdit && (
          <button type="button" className="link-button" onClick={onEdit}>
            Edit
          </button>
        )}
        {stats && !streaming && (
          <span className="stats muted" title="time to first token · generation speed · tokens (prompt, of which reused from cache)">
            {(stats.ttftMs / 1000).toFixed(2)} s to first token · {stats.tokensPerSecond.toFixed(1)} tok/s · {stats.completionTokens} tokens ·
            prompt {stats.promptTokens} ({stats.reusedTokens} cached)
          </span>
        )}
      </div>
    </article>
  );
});
