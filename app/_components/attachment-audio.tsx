"use client";

import { formatTime } from "@/lib/media/types";
import styles from "./attachment-views.module.css";
import type { MediaParts } from "./use-media-parts";

/** An audio file: a player and the mel spectrogram the model was given. */
export function AttachmentAudio({ url, parts, onView }: { url: string; parts: MediaParts; onView: (url: string) => void }) {
  const info = parts.info.kind === "audio" ? parts.info : null;
  const spectrogram = parts.parts[0];
  return (
    <figure className={styles.media} aria-label="Audio">
      <audio className={styles.audio} src={url} controls preload="metadata" aria-label="Attached audio" />
      {spectrogram && (
        <button type="button" className={styles.wide} aria-label="View the spectrogram" onClick={() => onView(spectrogram.url)}>
          {/* eslint-disable-next-line @next/next/no-img-element */}
          <img src={spectrogram.url} alt="Mel spectrogram of the audio (time across, frequency up)" />
        </button>
      )}
      {info && <figcaption className={styles.caption}>{`${formatTime(info.durationSeconds)} · the model sees the spectrogram (it cannot hear audio)`}</figcaption>}
    </figure>
  );
}
