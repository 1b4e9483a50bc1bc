"use client";

import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { CONVERSATIONS_CHANGED } from "./events";
import { SignOutButton } from "./sign-out-button";

interface Item {
  id: string;
  title: string;
  updatedAt: string;
}

export function Sidebar({ conversations: initial, user }: { conversations: Item[]; user: string }) {
  const router = useRouter();
  // The server's first page, refreshed in place when a chat says it changed (never by re-rendering the chat).
  const [fetched, setFetched] = useState<{ base: Item[]; items: Item[] } | null>(null);
  const conversations = fetched?.base === initial ? fetched.items : initial;
  useEffect(() => {
    const reload = async () => {
      const res = await fetch("/api/conversations?limit=100", { cache: "no-store" }).catch(() => null);
      if (res?.ok) setFetched({ base: initial, items: ((await res.json()) as { conversations: Item[] }).conversations });
    };
    window.addEventListener(CONVERSATIONS_CHANGED, reload);
    return () => window.removeEventListener(CONVERSATIONS_CHANGED, reload);
  }, [initial]);
  const pathname = usePathname();
  const [query, setQuery] = useState("");
  const [found, setFound] = useState<{ q: string; items: Item[] } | null>(null);
  const [renaming, setRenaming] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);

  // Search titles and message text on the server (debounced).
  const q = query.trim();
  useEffect(() => {
    if (!q) return;
    const t = setTimeout(async () => {
      const res = await fetch(`/api/conversations?limit=50&q=${encodeURIComponent(q)}`);
      if (res.ok) setFound({ q, items: ((await res.json()) as { conversations: Item[] }).conversations });
    }, 250);
    return () => clearTimeout(t);
  }, [q]);
  const results = q && found?.q === q ? found.items : null;

  async function rename(id: string, title: string) {
    setRenaming(null);
    const res = await fetch(`/api/conversations/${id}`, { method: "PATCH", headers: { "content-type": "application/json" }, body: JSON.stringify({ title }) });
    if (!res.ok) setError("Could not rename the conversation.");
    router.refresh();
  }

  async function remove(id: string) {
    setConfirming(null);
    const res = await fetch(`/api/conversations/${id}`, { method: "DELETE" });
    if (!res.ok) return setError("Could not delete the conversation.");
    if (pathname === `/c/${id}`) router.push("/");
    router.refresh();
  }

  const list = results ?? conversations;
  return (
    <>
      <button type="button" className="button sidebar-toggle" aria-label="Conversations" aria-expanded={open} onClick={() => setOpen(!open)}>
        ☰
      </button>
      <nav className={`sidebar ${open ? "sidebar-open" : ""}`} aria-label="Conversations">
        <Link className="button button-primary new-chat" href="/" onClick={() => setOpen(false)}>
          + New chat
        </Link>
        <input className="search" type="search" placeholder="Search conversations" aria-label="Search conversations" value={query} onChange={(e) => setQuery(e.target.value)} />
        {error && (
          <p className="error small" role="alert">
            {error}
          </p>
        )}
        <ul className="conversation-list">
          {list.length === 0 && <li className="muted small">{results ? "Nothing found." : "No conversations yet."}</li>}
          {list.map((c) => (
            <li key={c.id} className={pathname === `/c/${c.id}` ? "active" : ""}>
              {renaming === c.id ? (
                <form
                  onSubmit={(e) => {
                    e.preventDefault();
                    const title = String(new FormData(e.currentTarget).get("title") ?? "").trim();
                    if (title) void rename(c.id, title);
                  }}
                >
                  <input name="title" aria-label="New title" defaultValue={c.title} autoFocus maxLength={200} onBlur={() => setRenaming(null)} />
                </form>
              ) : (
                <Link href={`/c/${c.id}`} onClick={() => setOpen(false)} title={c.title}>
                  {c.title}
                </Link>
              )}
              {confirming === c.id ? (
                <span className="confirm">
                  Delete?{" "}
                  <button type="button" className="link-button danger" onClick={() => remove(c.id)}>
                    Yes, delete
                  </button>{" "}
                  <button type="button" className="link-button" onClick={() => setConfirming(null)}>
                    No
                  </button>
                </span>
              ) : (
                <span className="row-actions">
                  <button type="button" className="link-button" aria-label={`Rename ${c.title}`} onMouseDown={(e) => e.preventDefault()} onClick={() => setRenaming(c.id)}>
                    Rename
                  </button>
                  <button type="button" className="link-button" aria-label={`Delete ${c.title}`} onClick={() => setConfirming(c.id)}>
                    Delete
                  </button>
                </span>
              )}
            </li>
          ))}
        </ul>
        <footer className="sidebar-footer">
          <span className="muted small" title={user}>
            {user}
          </span>
          <Link className="link-button" href="/settings" onClick={() => setOpen(false)}>
            Settings
          </Link>
          <SignOutButton />
        </footer>
      </nav>
    </>
  );
}
