"use client";

import { useState } from "react";
import { AttachmentAudio } from "./attachment-audio";
import { AttachmentData } from "./attachment-data";
import { AttachmentPdf } from "./attachment-pdf";
import { AttachmentVideo } from "./attachment-video";
import { useMediaParts } from "./use-media-parts";

/** Still images the page can show as they are (an animated GIF/WebP is read as a video). */
const STILL = /^image\/(png|jpeg)$/;

/**
 * One attachment of a message, shown as its kind: an image, or the view of
 * what the server read from a video, audio file, PDF or table. A message
 * loaded from the server only says `image/*`: it is shown as an image, and
 * when the browser cannot draw it, asked for what it is.
 */
export function AttachmentView({
  url,
  mediaType,
  onView,
  alt = "Attached image",
}: {
  url: string;
  mediaType: string;
  onView: (url: string) => void;
  /** The image's text alternative (a generated image says what it was made from). */
  alt?: string;
}) {
  const [notAnImage, setNotAnImage] = useState(false);
  const media = !STILL.test(mediaType) && (mediaType !== "image/*" || notAnImage);
  const { parts, failed } = useMediaParts(url, media);
  if (!media || (failed && mediaType.startsWith("image/"))) {
    return (
      <button type="button" className="image-button" aria-label="View the image" onClick={() => onView(url)}>
        {/* eslint-disable-next-line @next/next/no-img-element */}
        <img
          src={url}
          alt={alt}
          onError={() => setNotAnImage(true)}
          // Server-rendered, the image can fail before the page is hydrated (its error event then reached no handler).
          ref={(img) => {
            if (img?.complete && img.naturalWidth === 0 && mediaType === "image/*") setNotAnImage(true);
          }}
        />
      </button>
    );
  }
  if (!parts) return <p className="muted small">{failed ? "This file could not be shown." : "Reading the file…"}</p>;
  switch (parts.info.kind) {
    case "video":
      return <AttachmentVideo url={url} parts={parts} onView={onView} />;
    case "audio":
      return <AttachmentAudio url={url} parts={parts} onView={onView} />;
    case "pdf":
      return <AttachmentPdf url={url} parts={parts} onView={onView} />;
    case "data":
      return <AttachmentData parts={parts} onView={onView} />;
  }
}
