"use client";

import Link from "next/link";
import { useState } from "react";
import { conversationsChanged } from "./events";

interface Archived {
  id: string;
  title: string;
  /** ISO 8601. */
  archivedAt: string;
  updatedAt: string;
}

/**
 * The archive: each chat with its link (an archived chat still opens, and is
 * still searched and exported) and Unarchive, which puts it back in the
 * sidebar where it was (its folder, its pin).
 */
export function ArchiveList({ initial, nextCursor, pageSize }: { initial: Archived[]; nextCursor: string | null; pageSize: number }) {
  const [items, setItems] = useState(initial);
  const [cursor, setCursor] = useState(nextCursor);
  const [loading, setLoading] = useState(false);
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);

  async function unarchive(item: Archived) {
    setStatus(null);
    const res = await fetch(`/api/conversations/${item.id}`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ archived: false }),
    }).catch(() => null);
    if (!res?.ok) return setStatus({ ok: false, text: `Could not unarchive “${item.title}”.` });
    setItems((list) => list.filter((c) => c.id !== item.id));
    setStatus({ ok: true, text: `“${item.title}” is back in the sidebar.` });
    conversationsChanged();
  }

  async function showMore() {
    if (!cursor) return;
    setLoading(true);
    const res = await fetch(`/api/conversations?view=archived&limit=${pageSize}&cursor=${encodeURIComponent(cursor)}`).catch(() => null);
    setLoading(false);
    if (!res?.ok) return setStatus({ ok: false, text: "Could not load more archived chats." });
    const page = (await res.json()) as { conversations: Archived[]; nextCursor: string | null };
    setItems((list) => [...list, ...page.conversations.filter((c) => !list.some((l) => l.id === c.id))]);
    setCursor(page.nextCursor);
  }

  return (
    <div className="archive-body">
      <p className="muted">Archived chats are out of the sidebar. They still open, and search and export still include them.</p>
      {status && (
        <p className={status.ok ? "muted" : "error"} role={status.ok ? "status" : "alert"}>
          {status.text}
        </p>
      )}
      {items.length === 0 ? (
        <p className="muted">No archived chats. Archive one from its “⋯” menu in the sidebar.</p>
      ) : (
        <ul className="archive-list" aria-label="Archived chats">
          {items.map((c) => (
            <li key={c.id} className="archive-item">
              <Link href={`/c/${c.id}`} className="archive-title">
                {c.title}
              </Link>
              <span className="muted small">Archived <time dateTime={c.archivedAt}>{c.archivedAt.slice(0, 10)}</time></span>
              <button type="button" className="button" aria-label={`Unarchive ${c.title}`} onClick={() => void unarchive(c)}>
                Unarchive
              </button>
            </li>
          ))}
        </ul>
      )}
      {cursor && (
        <button type="button" className="button" onClick={showMore} disabled={loading}>
          {loading ? "Loading…" : "Show more"}
        </button>
      )}
    </div>
  );
}
