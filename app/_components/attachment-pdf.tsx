"use client";

import styles from "./attachment-views.module.css";
import type { MediaParts } from "./use-media-parts";

/** A PDF: its page thumbnails; a click opens the page in the viewer. */
export function AttachmentPdf({ url, parts, onView }: { url: string; parts: MediaParts; onView: (url: string) => void }) {
  const info = parts.info.kind === "pdf" ? parts.info : null;
  return (
    <figure className={styles.media} aria-label="PDF document">
      <div className={styles.strip} role="list" aria-label="Pages">
        {parts.parts.map((p) => (
          <button key={p.id} type="button" role="listitem" className={styles.thumb} aria-label={`Open ${p.label}`} onClick={() => onView(p.url)}>
            {/* eslint-disable-next-line @next/next/no-img-element */}
            <img src={p.url} alt="" />
            <span>{p.label}</span>
          </button>
        ))}
      </div>
      <figcaption className={styles.caption}>
        {info ? `${info.pageCount} ${info.pageCount === 1 ? "page" : "pages"} · ` : ""}
        <a href={url} target="_blank" rel="noreferrer">
          Download the PDF
        </a>
      </figcaption>
    </figure>
  );
}
