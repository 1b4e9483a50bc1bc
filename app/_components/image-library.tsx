"use client";

import Link from "next/link";
import { useCallback, useEffect, useLayoutEffect, useState } from "react";

interface ImageItem {
  id: string;
  url: string;
  caption: string | null;
  score: number | null;
  reasons: string[];
  conversationId: string | null;
  createdAt: string;
  width: number;
  height: number;
  /** A video frame, PDF page, chart or spectrogram: the upload it came from and where in it. */
  source: { id: string; mediaType: string; label: string; time: number | null; page: number | null } | null;
  /** An image the app drew: its prompt, seed (null when the generator did not say) and generator. */
  generated: { prompt: string; seed: number | null; generator: string } | null;
}

interface Page {
  items: ImageItem[];
  nextCursor: string | null;
}

type View = { kind: "all" } | { kind: "search"; q: string } | { kind: "similar"; id: string; like: string | null };

const sourceKind = (mediaType: string) =>
  mediaType.startsWith("video/") || mediaType === "image/gif" || mediaType === "image/webp" ? "a video" : mediaType.startsWith("audio/") ? "an audio file" : mediaType === "application/pdf" ? "a PDF" : "a table";

const REASON_TEXT: Record<string, string> = { visual: "visual match", caption: "caption match", chat: "chat text match" };

/** How often progress is refreshed while images are still being indexed, in ms. */
const STATUS_POLL_MS = 3000;

async function getJson<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  const body = await res.json();
  if (!res.ok) throw new Error(body?.error?.message ?? `Request failed (${res.status}).`);
  return body as T;
}

/** The Images page: grid, search, "more like this", zero-shot labels, indexing progress. */
export function ImageLibrary() {
  const [view, setView] = useState<View>({ kind: "all" });
  const [query, setQuery] = useState("");
  const [page, setPage] = useState<Page | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<{ total: number; indexed: number } | null>(null);
  const [labels, setLabels] = useState("circle, square, triangle");
  const [classified, setClassified] = useState<Record<string, { label: string; probability: number }[] | string>>({});
  /** The whole library grouped by the labels (null until asked). */
  const [grouped, setGrouped] = useState<{ label: string; items: ImageItem[] }[] | null>(null);
  /** Narrow the list or the search: a date range (inclusive days) and one conversation. */
  const [filters, setFilters] = useState({ from: "", to: "", conversationId: "" });
  const [conversations, setConversations] = useState<{ id: string; title: string }[]>([]);
  // Open on wide screens; on a phone the filters start folded so the images come first.
  const [filtersOpen, setFiltersOpen] = useState(true);
  // Before the first paint, so a phone never shows them open for a frame.
  useLayoutEffect(() => {
    if (window.matchMedia("(max-width: 800px)").matches) setFiltersOpen(false);
  }, []);
  const filtersOn = [filters.from, filters.to, filters.conversationId].filter(Boolean).length;
  useEffect(() => {
    getJson<{ conversations: { id: string; title: string }[] }>("/api/conversations?limit=100")
      .then((r) => setConversations(r.conversations))
      .catch(() => {});
  }, []);

  const urlFor = useCallback(
    (v: View, cursor?: string | null) => {
      if (v.kind === "similar") return `/api/images/${v.id}/similar`;
      const params = new URLSearchParams();
      if (v.kind === "search") params.set("q", v.q);
      if (filters.conversationId) params.set("conversationId", filters.conversationId);
      if (filters.from) params.set("from", new Date(`${filters.from}T00:00:00`).toISOString());
      // "To" is the whole day: the API's bound is exclusive.
      if (filters.to) params.set("to", new Date(new Date(`${filters.to}T00:00:00`).getTime() + 86_400_000).toISOString());
      if (cursor) params.set("cursor", cursor);
      return `/api/images?${params}`;
    },
    [filters],
  );

  useEffect(() => {
    let cancelled = false;
    getJson<Page>(urlFor(view))
      .then((p) => !cancelled && (setPage({ items: p.items, nextCursor: p.nextCursor ?? null }), setError(null)))
      .catch((err: Error) => !cancelled && setError(err.message));
    return () => {
      cancelled = true;
    };
  }, [view, urlFor]);

  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = () =>
      getJson<{ total: number; indexed: number }>("/api/images/status")
        .then((s) => {
          setStatus(s);
          if (s.indexed < s.total) timer = setTimeout(poll, STATUS_POLL_MS);
        })
        .catch(() => (timer = setTimeout(poll, STATUS_POLL_MS)));
    void poll();
    return () => clearTimeout(timer);
  }, []);

  const showMore = async () => {
    if (!page?.nextCursor) return;
    setLoadingMore(true);
    try {
      const next = await getJson<Page>(urlFor(view, page.nextCursor));
      setPage({ items: [...page.items, ...next.items], nextCursor: next.nextCursor });
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setLoadingMore(false);
    }
  };

  const groupAll = async () => {
    const list = labels.split(",").map((l) => l.trim()).filter(Boolean);
    try {
      setGrouped((await getJson<{ groups: { label: string; items: ImageItem[] }[] }>("/api/images/classify", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ labels: list }),
      })).groups);
      setError(null);
    } catch (err) {
      setError((err as Error).message);
    }
  };

  const classify = async (id: string) => {
    const list = labels.split(",").map((l) => l.trim()).filter(Boolean);
    try {
      const body = await getJson<{ labels: { label: string; probability: number }[] }>(`/api/images/${id}/classify`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ labels: list }),
      });
      setClassified((c) => ({ ...c, [id]: body.labels }));
    } catch (err) {
      setClassified((c) => ({ ...c, [id]: (err as Error).message }));
    }
  };

  const heading =
    view.kind === "search"
      ? `Results for “${view.q}”`
      : view.kind === "similar"
        ? // Says which image the list is like: the search box no longer does.
          `More like this: ${view.like ? `“${view.like}”` : "the image you picked"}`
        : "All images, newest first";

  return (
    <div className="images-body">
      <form
        className="images-toolbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          const q = query.trim();
          setPage(null);
          setView(q ? { kind: "search", q } : { kind: "all" });
        }}
      >
        <input type="search" aria-label="Search your images" placeholder="Search by what is in them, e.g. red circle" value={query} onChange={(e) => setQuery(e.target.value)} />
        <button type="submit" className="button button-primary">
          Search
        </button>
        {view.kind !== "all" && (
          <button
            type="button"
            className="button"
            onClick={() => {
              setQuery("");
              setPage(null);
              setView({ kind: "all" });
            }}
          >
            Show all
          </button>
        )}
      </form>
      <details className="images-filters" open={filtersOpen} onToggle={(e) => setFiltersOpen(e.currentTarget.open)}>
        <summary className="small">
          Filters and labels{filtersOn ? ` (${filtersOn} on)` : ""}
        </summary>
        <div className="images-toolbar" role="group" aria-label="Filters">
          <label className="small">
            From <input type="date" value={filters.from} onChange={(e) => setFilters({ ...filters, from: e.target.value })} />
          </label>
          <label className="small">
            To <input type="date" value={filters.to} onChange={(e) => setFilters({ ...filters, to: e.target.value })} />
          </label>
          <label className="small">
            Conversation{" "}
            <select value={filters.conversationId} onChange={(e) => setFilters({ ...filters, conversationId: e.target.value })}>
              <option value="">All conversations</option>
              {conversations.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.title}
                </option>
              ))}
            </select>
          </label>
        </div>
        <div className="images-toolbar">
          <label className="small">
            Labels{" "}
            <input aria-label="Zero-shot labels, separated by commas" value={labels} onChange={(e) => setLabels(e.target.value)} />
          </label>
          <button type="button" className="button" onClick={groupAll}>
            Group all by these labels
          </button>
          {grouped && (
            <button type="button" className="link-button" onClick={() => setGrouped(null)}>
              Hide groups
            </button>
          )}
        </div>
      </details>
      {grouped && (
        <section aria-label="Library by label" className="label-groups">
          {grouped.map((g) => (
            <div key={g.label} className="label-group">
              <h2 className="images-heading">
                {g.label} ({g.items.length})
              </h2>
              <ul className="label-group-items" aria-label={`Images labelled ${g.label}`}>
                {g.items.map((item) => (
                  <li key={item.id} data-image-id={item.id}>
                    {/* eslint-disable-next-line @next/next/no-img-element -- private per-user images, served by our own route */}
                    <img src={item.url} alt={item.caption ?? "An image from your chats"} loading="lazy" />
                    <span className="muted small">{Math.round((item.score ?? 0) * 100)} %</span>
                  </li>
                ))}
              </ul>
            </div>
          ))}
        </section>
      )}
      <div className="images-heading-row">
        <h2 className="images-heading">{heading}</h2>
        {/* Beside the heading, not in the folded filters: in sight on a phone too. */}
        {status && (
          <span className="muted small" data-testid="index-progress" aria-live="polite">
            indexed {status.indexed} / {status.total}
          </span>
        )}
      </div>
      {error && <p className="notice" role="alert">{error}</p>}
      {page && !page.items.length && <p className="muted">{view.kind === "all" && !filters.from && !filters.to && !filters.conversationId ? "No images yet: attach one in a chat." : "No image matches."}</p>}
      <ul className="image-grid" aria-label="Images">
        {page?.items.map((item) => {
          const labelled = classified[item.id];
          return (
            <li key={item.id} className="image-card" data-testid="image-card" data-image-id={item.id}>
              {/* eslint-disable-next-line @next/next/no-img-element -- private per-user images, served by our own route */}
              <img src={item.url} alt={item.caption ?? (item.generated ? `Generated: ${item.generated.prompt}` : "An image from your chats")} loading="lazy" />
              <p className="image-caption">{item.caption ?? <span className="muted">No caption yet</span>}</p>
              {item.generated && (
                <p className="small image-generated" data-testid="image-generated">
                  <span className="badge badge-ok" title={`Drawn by ${item.generated.generator}${item.generated.seed !== null ? `, seed ${item.generated.seed}` : ""}`}>
                    generated
                  </span>{" "}
                  <span className="muted">{item.generated.prompt}</span>
                </p>
              )}
              {item.source && (
                <p className="small muted" data-testid="image-source">
                  {`${item.source.label} of ${sourceKind(item.source.mediaType)} · `}
                  <a href={`/api/uploads/${item.source.id}${item.source.time !== null ? `#t=${item.source.time}` : item.source.page !== null ? `#page=${item.source.page}` : ""}`} target="_blank" rel="noreferrer">
                    {item.source.time !== null ? "open at this moment" : item.source.page !== null ? "open at this page" : "open the file"}
                  </a>
                </p>
              )}
              {item.reasons.length > 0 && (
                <p className="image-reasons small">
                  {item.reasons.map((r) => (
                    <span key={r} className="badge">
                      {r === "chat" && item.generated ? "prompt or chat text match" : (REASON_TEXT[r] ?? r)}
                    </span>
                  ))}
                  {item.score !== null && <span className="muted"> score {item.score.toFixed(2)}</span>}
                </p>
              )}
              <div className="image-actions small">
                <button
                  type="button"
                  className="link-button"
                  onClick={() => {
                    setPage(null);
                    setQuery("");
                    setView({ kind: "similar", id: item.id, like: item.caption });
                  }}
                >
                  More like this
                </button>
                {item.conversationId && (
                  <Link className="link-button" href={`/c/${item.conversationId}`}>
                    Open the conversation
                  </Link>
                )}
                <Link className="link-button" href={`/?image=${item.id}`}>
                  Ask about this image
                </Link>
                <button type="button" className="link-button" onClick={() => void classify(item.id)}>
                  Labels
                </button>
              </div>
              {typeof labelled === "string" && <p className="small error">{labelled}</p>}
              {Array.isArray(labelled) && (
                <ul className="image-labels small" aria-label="Label probabilities">
                  {labelled.map((l) => (
                    <li key={l.label}>
                      <span>{l.label}</span> <meter min={0} max={1} value={l.probability} /> {(l.probability * 100).toFixed(1)}%
                    </li>
                  ))}
                </ul>
              )}
            </li>
          );
        })}
      </ul>
      {page?.nextCursor && (
        <button type="button" className="button show-more" onClick={showMore} disabled={loadingMore}>
          {loadingMore ? "Loading…" : "Show more"}
        </button>
      )}
    </div>
  );
}
