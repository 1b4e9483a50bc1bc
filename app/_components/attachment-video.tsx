"use client";

import { useRef, useState } from "react";
import { formatTime } from "@/lib/media/types";
import styles from "./attachment-views.module.css";
import type { MediaParts } from "./use-media-parts";

/** A video (or animation) with a player and the filmstrip of the frames the model saw; a click on a frame seeks there. */
export function AttachmentVideo({ url, parts, onView }: { url: string; parts: MediaParts; onView: (url: string) => void }) {
  const player = useRef<HTMLVideoElement>(null);
  const [current, setCurrent] = useState<string | null>(null);
  const info = parts.info.kind === "video" ? parts.info : null;
  const animated = info?.animated;
  return (
    <figure className={styles.media} aria-label="Video">
      {animated ? (
        // eslint-disable-next-line @next/next/no-img-element
        <img className={styles.player} src={url} alt="Attached animation" />
      ) : (
        <video ref={player} className={styles.player} src={url} controls preload="metadata" aria-label="Attached video" />
      )}
      <div className={styles.strip} role="list" aria-label="Frames the model saw">
        {parts.parts.map((f) => (
          <button
            key={f.id}
            type="button"
            role="listitem"
            className={styles.thumb}
            aria-current={current === f.id}
            aria-label={`${f.label}: ${animated ? "view" : "play from here"}`}
            onClick={() => {
              setCurrent(f.id);
              if (animated || !player.current) return onView(f.url);
              player.current.currentTime = f.time ?? 0;
              void player.current.play().catch(() => {});
            }}
          >
            {/* eslint-disable-next-line @next/next/no-img-element */}
            <img src={f.url} alt="" />
            <span>{formatTime(f.time ?? 0)}</span>
          </button>
        ))}
      </div>
      {info && <figcaption className={styles.caption}>{`${formatTime(info.durationSeconds)} · ${info.width}×${info.height} · ${parts.parts.length} frames sent to the model`}</figcaption>}
    </figure>
  );
}
