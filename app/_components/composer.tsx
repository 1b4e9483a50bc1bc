"use client";

import { useRef, type RefObject } from "react";
import type { useAttachments } from "./use-attachments";

export function Composer({
  inputRef,
  text,
  onText,
  attachments,
  onFiles,
  canSeeImages,
  busy,
  editing,
  onCancelEdit,
  onSend,
  onStop,
}: {
  inputRef: RefObject<HTMLTextAreaElement | null>;
  text: string;
  onText: (text: string) => void;
  attachments: ReturnType<typeof useAttachments>;
  onFiles: (files: File[]) => void;
  canSeeImages: boolean;
  busy: boolean;
  editing: boolean;
  onCancelEdit: () => void;
  onSend: () => void;
  onStop: () => void;
}) {
  const fileInput = useRef<HTMLInputElement>(null);
  const hasContent = text.trim().length > 0 || attachments.parts.length > 0;
  const canSend = !busy && !attachments.uploading && !attachments.failed && hasContent;
  const failedItems = attachments.items.filter((i) => i.status === "error");
  const why = attachments.failed
    ? // The tiles have room for a few words; the whole reason is said here (no hover on a phone).
      `${failedItems.map((i) => `${i.name}: ${i.error}`).join(" ")} Remove the images that could not be attached to send.`
    : attachments.uploading
      ? "Waiting for the images to upload…"
      : busy
        ? "Wait for the answer, or stop it."
        : undefined;

  return (
    <form
      className="composer"
      aria-label="Message"
      onSubmit={(e) => {
        e.preventDefault();
        if (canSend) onSend();
      }}
    >
      {editing && (
        <div className="composer-editing">
          Editing a question: sending starts a new version of the conversation from there.{" "}
          <button type="button" className="link-button" onClick={onCancelEdit}>
            Cancel
          </button>
        </div>
      )}
      {attachments.items.length > 0 && (
        <ul className="thumbs" aria-label="Attached images">
          {attachments.items.map((item) => (
            <li key={item.key} className={`thumb thumb-${item.status}`}>
              {item.status === "error" ? (
                <span className="thumb-failed" title={`${item.name}: ${item.error}`}>
                  <span className="thumb-name">{item.name}</span>
                  <span className="thumb-error" role="alert">
                    {item.error}
                  </span>
                </span>
              ) : (
                // eslint-disable-next-line @next/next/no-img-element
                <img src={item.previewUrl} alt={item.name} />
              )}
              {item.status === "uploading" && <progress max={1} value={item.progress} aria-label={`Uploading ${item.name}`} />}
              <button type="button" className="thumb-remove" aria-label={`Remove ${item.name}`} onClick={() => attachments.remove(item.key)}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      {/* An upload's failure is said in full at once (the tile cuts it off); the other reasons once there is something to send. */}
      {why && (hasContent || attachments.failed) && !busy && (
        <p className="composer-why muted" role="status">
          {why}
        </p>
      )}
      <div className="composer-row">
        <button
          type="button"
          className="button icon-button"
          aria-label="Attach images"
          title={canSeeImages ? "Attach images" : "This model cannot see images"}
          disabled={!canSeeImages}
          onClick={() => fileInput.current?.click()}
        >
          <svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" aria-hidden>
            <path d="M21 11.5l-8.6 8.6a5 5 0 0 1-7.1-7.1l8.6-8.6a3.5 3.5 0 0 1 5 5l-8.6 8.6a2 2 0 0 1-2.8-2.8l7.9-7.9" />
          </svg>
        </button>
        <input
          ref={fileInput}
          type="file"
          accept="image/png,image/jpeg,image/webp,image/gif,video/mp4,video/webm,video/quicktime,video/x-matroska,.mkv,audio/*,.m4a,.opus,application/pdf,.csv,.tsv,.json,text/csv"
          multiple
          hidden
          data-testid="file-input"
          onChange={(e) => {
            if (e.target.files) onFiles([...e.target.files]);
            e.target.value = "";
          }}
        />
        <textarea
          ref={inputRef}
          aria-label="Your message"
          placeholder={canSeeImages ? "Ask about an image… (drop, paste or attach one)" : "Send a message…"}
          value={text}
          rows={1}
          onChange={(e) => onText(e.target.value)}
          onPaste={(e) => {
            const files = [...e.clipboardData.files].filter((f) => /^(image|video|audio)\/|^application\/pdf$|^text\/csv$/.test(f.type));
            if (files.length && canSeeImages) {
              e.preventDefault();
              onFiles(files);
            }
          }}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
              e.preventDefault();
              if (canSend) onSend();
            }
          }}
        />
        {/* Two buttons, never one that changes under the pointer: a click on Stop must not become a click on Send. */}
        {busy && (
          <button key="stop" type="button" className="button" onClick={onStop}>
            Stop
          </button>
        )}
        <button key="send" type="submit" className="button button-primary" disabled={!canSend} title={why}>
          {editing ? "Send edit" : "Send"}
        </button>
      </div>
    </form>
  );
}
