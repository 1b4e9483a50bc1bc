"use client";

import styles from "./attachment-views.module.css";
import type { MediaParts } from "./use-media-parts";

/** A table (CSV, TSV, JSON records): the chart the model saw and a scrollable table of the first rows. */
export function AttachmentData({ parts, onView }: { parts: MediaParts; onView: (url: string) => void }) {
  if (parts.info.kind !== "data") return null;
  const { columns, rows, rowCount } = parts.info;
  const chart = parts.parts[0];
  return (
    <figure className={styles.media} aria-label="Table">
      {chart && (
        <button type="button" className={styles.wide} aria-label="View the chart" onClick={() => onView(chart.url)}>
          {/* eslint-disable-next-line @next/next/no-img-element */}
          <img src={chart.url} alt={parts.info.chart?.title ?? "Chart of the table"} />
        </button>
      )}
      <div className={styles.table} tabIndex={0} role="region" aria-label="Table rows">
        <table>
          <thead>
            <tr>
              {columns.map((c) => (
                <th key={c.name} scope="col" title={c.type}>
                  {c.name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr key={i}>
                {r.map((v, j) => (
                  <td key={j}>{v}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <figcaption className={styles.caption}>{`${rowCount} rows × ${columns.length} columns${rows.length < rowCount ? ` (first ${rows.length} shown)` : ""}`}</figcaption>
    </figure>
  );
}
