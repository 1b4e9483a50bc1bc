"use client";

import { useEffect, useRef, useState } from "react";

const MIN_ZOOM = 0.5;
const MAX_ZOOM = 8;

/** A full-window view of one image: click or +/− to zoom, Esc or × to close. */
export function Lightbox({ src, onClose }: { src: string; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [zoom, setZoom] = useState(1);
  /** The image's width when it fits the window: zooming scales its layout size, so every part can be scrolled to. */
  const [fitWidth, setFitWidth] = useState<number | null>(null);
  const zoomIn = () => setZoom((z) => Math.min(MAX_ZOOM, z * 1.5));
  const zoomOut = () => setZoom((z) => Math.max(MIN_ZOOM, z / 1.5));
  useEffect(() => {
    const d = dialog.current;
    // Focus goes back to what opened the viewer.
    const opener = document.activeElement as HTMLElement | null;
    d?.showModal();
    return () => {
      d?.close();
      opener?.focus();
    };
  }, []);
  return (
    // A modal <dialog>: focus stays inside, Esc closes it (the "cancel" event).
    <dialog
      ref={dialog}
      className="lightbox"
      aria-label="Image viewer"
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
      onClick={(e) => {
        if (e.target === e.currentTarget) onClose();
      }}
      onKeyDown={(e) => {
        // + and − zoom wherever the focus is in the viewer (= is + without Shift).
        if (e.ctrlKey || e.metaKey || e.altKey) return;
        if (e.key === "+" || e.key === "=") zoomIn();
        else if (e.key === "-" || e.key === "−") zoomOut();
        else return;
        e.preventDefault();
      }}
    >
      <div className="lightbox-bar">
        <button type="button" className="button" aria-label="Zoom out" disabled={zoom <= MIN_ZOOM} onClick={zoomOut}>
          −
        </button>
        <span className="lightbox-zoom" aria-live="polite">
          {Math.round(zoom * 100)}%
        </span>
        <button type="button" className="button" aria-label="Zoom in" disabled={zoom >= MAX_ZOOM} onClick={zoomIn}>
          +
        </button>
        <a className="button" href={src} target="_blank" rel="noreferrer">
          Open original
        </a>
        <button type="button" className="button" aria-label="Close the image viewer" onClick={onClose} autoFocus>
          ×
        </button>
      </div>
      {/* Focusable: a zoomed image scrolls, and the keyboard must reach it. */}
      <div className="lightbox-stage" tabIndex={0} onClick={(e) => e.target === e.currentTarget && onClose()}>
        {/* eslint-disable-next-line @next/next/no-img-element */}
        <img
          src={src}
          alt="Attached image, enlarged"
          className={zoom === 1 ? undefined : "zoomed"}
          style={zoom === 1 || !fitWidth ? undefined : { width: `${Math.round(fitWidth * zoom)}px` }}
          onLoad={(e) => setFitWidth(e.currentTarget.clientWidth)}
          onClick={() => setZoom((z) => (z === 1 ? 2 : 1))}
        />
      </div>
    </dialog>
  );
}
