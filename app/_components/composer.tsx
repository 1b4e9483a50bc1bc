"use client";

import { useRef, type RefObject } from "react";
import { drawPrompt } from "@/lib/chat/draw-command";
import { formatTime } from "@/lib/media/types";
import styles from "./attachment-views.module.css";
import { modelInputs, useModelHealth, type InputCapability, type InputKind } from "./model-status";
import { ImageModeControls } from "./image-mode-controls";
import { kindOfFile, type PendingImage, type useAttachments } from "./use-attachments";
import type { ImageMode } from "./use-image-mode";
import { useMediaParts } from "./use-media-parts";

/** What the file picker offers for each kind. */
const ACCEPT: Record<InputKind, string> = {
  image: "image/png,image/jpeg,image/webp,image/gif",
  video: "video/mp4,video/webm,video/quicktime,video/x-matroska,.mkv,.mov",
  audio: "audio/*,.wav,.mp3,.ogg,.opus,.flac,.m4a",
  pdf: "application/pdf,.pdf",
  data: "text/csv,.csv,.tsv,.json,.xlsx",
};

const READING: Record<Exclude<InputKind, "image">, string> = { video: "Reading video…", audio: "Reading audio…", pdf: "Reading PDF…", data: "Reading table…" };

/** "images, video and PDF" */
const list = (words: string[]) => (words.length < 2 ? (words[0] ?? "") : `${words.slice(0, -1).join(", ")} and ${words.at(-1)}`);

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
  imageMode,
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
  /** "Create image": the message becomes the prompt of an image (absent: the composer only asks). */
  imageMode?: ImageMode;
}) {
  const fileInput = useRef<HTMLInputElement>(null);
  const health = useModelHealth();
  const inputs = modelInputs(health);
  const takes = inputs.filter((i) => i.how !== "no");
  const accept = takes.map((i) => ACCEPT[i.kind]).join(",");
  const attachTitle = !canSeeImages || !takes.length ? "This model reads text only: it can't take images, video, audio, PDFs or tables" : `Attach ${list(takes.map((i) => i.label))}`;
  // A generation turn: "Create image" is on, or the message starts with "/draw".
  const drawing = Boolean(imageMode?.on) || drawPrompt(text) !== null;
  const hasContent = text.trim().length > 0 || attachments.parts.length > 0;
  const canSend = !busy && !attachments.uploading && !attachments.failed && hasContent;
  const failedItems = attachments.items.filter((i) => i.status === "error");
  const why = attachments.failed
    ? // The tiles have room for a few words; the whole reason is said here (no hover on a phone).
      `${failedItems.map((i) => `${i.name}: ${i.error}`).join(" ")} Remove the images that could not be attached to send.`
    : attachments.uploading
      ? attachments.items.some((i) => i.status === "uploading" && i.reading !== undefined)
        ? "Waiting for the files to be read…"
        : "Waiting for the images to upload…"
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
            <li key={item.key} className={`thumb thumb-${item.status}${item.kind !== "image" ? ` ${styles.mediaTile}` : ""}`}>
              {item.status === "error" ? (
                <span className={`thumb-failed${item.kind !== "image" ? ` ${styles.tileFailed}` : ""}`} title={`${item.name}: ${item.error}`}>
                  <span className="thumb-name">{item.name}</span>
                  <span className="thumb-error" role="alert">
                    {item.error}
                  </span>
                </span>
              ) : item.kind !== "image" ? (
                <MediaTile item={item} />
              ) : (
                // eslint-disable-next-line @next/next/no-img-element
                <img src={item.previewUrl} alt={item.name} />
              )}
              {item.status === "uploading" && item.kind === "image" && <progress max={1} value={item.progress} aria-label={`Uploading ${item.name}`} />}
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
          title={attachTitle}
          disabled={!canSeeImages || !takes.length}
          onClick={() => fileInput.current?.click()}
        >
          <svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" aria-hidden>
            <path d="M21 11.5l-8.6 8.6a5 5 0 0 1-7.1-7.1l8.6-8.6a3.5 3.5 0 0 1 5 5l-8.6 8.6a2 2 0 0 1-2.8-2.8l7.9-7.9" />
          </svg>
        </button>
        <input
          ref={fileInput}
          type="file"
          accept={accept || undefined}
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
          placeholder={drawing ? "Describe the image to create…" : canSeeImages ? "Ask about an image… (drop, paste or attach one)" : "Send a message…"}
          value={text}
          rows={1}
          onChange={(e) => onText(e.target.value)}
          onPaste={(e) => {
            const files = [...e.clipboardData.files].filter((f) => f.type && takes.some((t) => t.kind === kindOfFile(f)));
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
      {imageMode && <ImageModeControls mode={imageMode} drawing={drawing} busy={busy} />}
      {health?.status === "ready" && <InputKinds inputs={inputs} attached={attachments.items.map((i) => i.kind)} />}
    </form>
  );
}

/**
 * Which kinds of file the loaded model takes, each greyed out with the reason
 * when it cannot take it, and marked when it gets something made from it
 * (audio to a model that only sees: a spectrogram). What a converted kind
 * becomes is said in words once a file of that kind is attached (before, the
 * marked chip and its title are enough: a line on every empty composer was noise).
 */
function InputKinds({ inputs, attached }: { inputs: InputCapability[]; attached: InputKind[] }) {
  const none = inputs.every((i) => i.how === "no");
  const audio = inputs.find((i) => i.kind === "audio" && attached.includes("audio"));
  return (
    <div className={styles.kinds}>
      <ul aria-label="What this model takes">
        {inputs.map((i) => (
          <li
            key={i.kind}
            className={i.how === "no" ? styles.kindNo : i.how === "converted" ? styles.kindConverted : undefined}
            aria-disabled={i.how === "no" || undefined}
            title={i.reason || `This model takes ${i.label}.`}
            data-kind={i.kind}
            data-how={i.how}
          >
            {i.label}
          </li>
        ))}
      </ul>
      {/* The reason is said, not only hovered (no hover on a phone). */}
      <span className={styles.kindsWhy} data-testid="kinds-why">
        {none ? inputs[0]!.reason : audio?.how === "converted" ? audio.reason : ""}
      </span>
    </div>
  );
}

/** A video, audio file, PDF or table being attached: how far its upload and reading have come, then what was read from it. */
function MediaTile({ item }: { item: PendingImage }) {
  const reading = item.reading;
  const ready = item.status === "done" && item.part ? item.part : null;
  const { parts } = useMediaParts(ready?.url ?? "", ready !== null);
  if (!ready) {
    const kind = item.kind as Exclude<InputKind, "image">;
    const percent = Math.round(reading ?? item.progress * 100);
    const text = reading !== undefined ? `${READING[kind]} ${percent} %` : `Uploading… ${percent} %`;
    return (
      <span className={styles.tileBody}>
        <span className="thumb-name">{item.name}</span>
        <span className={styles.tileStatus} role="status" data-testid="media-progress">
          {text}
        </span>
        <progress max={100} value={percent} aria-label={`${reading !== undefined ? "Reading" : "Uploading"} ${item.name}`} />
      </span>
    );
  }
  const preview = parts?.parts[0];
  const info = parts?.info;
  const caption = !info
    ? "Ready"
    : info.kind === "video"
      ? `Video · ${formatTime(info.durationSeconds)} · ${parts.parts.length} frames`
      : info.kind === "audio"
        ? `Audio · ${formatTime(info.durationSeconds)}`
        : info.kind === "pdf"
          ? `PDF · ${info.pageCount} ${info.pageCount === 1 ? "page" : "pages"}`
          : `Table · ${info.rowCount} rows`;
  return (
    <span className={styles.tileBody}>
      {preview ? (
        // eslint-disable-next-line @next/next/no-img-element
        <img src={preview.url} alt={`${item.name}: ${preview.label}`} />
      ) : (
        <span className="thumb-name">{item.name}</span>
      )}
      <span className={styles.tileStatus} data-testid="media-ready" title={item.name}>
        {caption}
      </span>
    </span>
  );
}
