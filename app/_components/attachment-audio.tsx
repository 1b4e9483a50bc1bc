"use client";

import { formatTime } from "@/lib/media/types";
import styles from "./attachment-views.module.css";
import type { MediaParts } from "./use-media-parts";

/** An audio file: a player, the mel spectrogram the model was given, and the transcript when a speech model wrote one. */
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
      {info?.transcript && (
        <blockquote className={styles.transcript} aria-label="Transcript">
          <span className={styles.caption}>{`Transcript${info.transcript.partial ? " of the start" : ""} · machine-made by ${info.transcript.model}`}</span>
          <p>{info.transcript.text}</p>
        </blockquote>
      )}
      {info && <figcaption className={styles.caption}>{`${formatTime(info.durationSeconds)} · a model that hears audio gets the clip, any other this spectrogram${info.transcript ? "; both get the transcript" : ""}`}</figcaption>}
    </figure>
  );
}
