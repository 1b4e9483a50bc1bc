"use client";

import { useId } from "react";
import styles from "./image-generation.module.css";
import type { ImageMode } from "./use-image-mode";

/**
 * The composer's "Create image" toggle with the size and steps of the image, or, when no
 * generator is available, the toggle disabled with the reason said beside it (not only hovered:
 * no hover on a phone). `drawing` is true while the message is a generation turn (the mode is on,
 * or the message starts with "/draw").
 */
export function ImageModeControls({ mode, drawing, busy }: { mode: ImageMode; drawing: boolean; busy: boolean }) {
  const id = useId();
  const { generator, status } = mode;
  if (!status) return null;
  if (!generator) {
    return (
      <div className={styles.mode} role="group" aria-label="Image generation">
        <button type="button" className={`link-button ${styles.toggle}`} aria-pressed={false} disabled aria-describedby="image-mode-why">
          Create image
        </button>
        <span id="image-mode-why" className="muted small">
          {status.reason}
        </span>
      </div>
    );
  }
  return (
    <div className={styles.mode} role="group" aria-label="Image generation">
      <button
        type="button"
        className={`link-button ${styles.toggle}`}
        aria-pressed={mode.on}
        title={`Make an image from your message with ${generator.label} (or start the message with /draw)`}
        onClick={() => mode.setOn(!mode.on)}
      >
        Create image
      </button>
      {drawing && (
        <>
          {/* Labels beside their controls (not around them): a control inside its label adds its value to its name. */}
          <label className="small" htmlFor={`${id}-size`}>
            Size
          </label>
          <select id={`${id}-size`} value={mode.size ?? ""} disabled={busy} onChange={(e) => mode.setSize(e.target.value)}>
            {generator.sizes.map((s) => (
              <option key={s} value={s}>
                {s.replace("x", " × ")}
              </option>
            ))}
          </select>
          <label className="small" htmlFor={`${id}-steps`}>
            Steps
          </label>
          <input
            id={`${id}-steps`}
            type="number"
            min={1}
            max={generator.maxSteps}
            value={mode.steps ?? ""}
            disabled={busy}
            onChange={(e) => mode.setSteps(e.target.value ? Math.max(1, Math.min(generator.maxSteps, Math.round(Number(e.target.value)))) : null)}
          />
          <span className="muted small">Your message describes the image · {generator.label}</span>
        </>
      )}
    </div>
  );
}
