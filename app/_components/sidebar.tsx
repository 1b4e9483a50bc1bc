"use client";

import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { useCallback, useEffect, useId, useRef, useState, useSyncExternalStore } from "react";
import { groupByDate, startOfDay } from "@/lib/chat/group-by-date";
import { ConversationItem, CONVERSATION_DRAG_TYPE } from "./conversation-item";
import { conversationsChanged } from "./events";
import { FolderItem, NameInput } from "./folder-item";
import { useFolders, type SidebarFolder } from "./folder-state";
import { SignOutButton } from "./sign-out-button";
import { NEW_TITLE, useConversations, type ConversationItem as Item } from "./use-conversations";

export function Sidebar({
  conversations: initial,
  folders: initialFolders,
  nextCursor,
  pageSize,
  user,
}: {
  /** The first page: the pinned ones, then the top level's, most recently active first (no archived or filed chats). */
  conversations: Item[];
  /** The folders by name, with their chats. */
  folders: SidebarFolder[];
  /** Where the next page starts (GET /api/conversations?cursor=); null when this is all. */
  nextCursor: string | null;
  pageSize: number;
  user: string;
}) {
  const router = useRouter();
  const pathname = usePathname();
  // usePathname follows history.replaceState, so a chat created on "/" shows up here during its first answer.
  const currentId = /^\/c\/([^/]+)$/.exec(pathname)?.[1] ?? null;
  const folders = useFolders(initialFolders);
  const list = useConversations({ initial, nextCursor, pageSize, currentId, shownElsewhere: folders.chatIds });
  const today = useToday();
  const [query, setQuery] = useState("");
  const [found, setFound] = useState<{ q: string; items: Item[] } | null>(null);
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [naming, setNaming] = useState(false);
  const [dropTop, setDropTop] = useState(false);
  /** A row moved to another section through its menu, whose ⋯ button takes the focus. */
  const [focusRow, setFocusRow] = useState<string | null>(null);
  const menuFocused = useCallback(() => setFocusRow(null), []);
  const toggle = useRef<HTMLButtonElement>(null);
  const idPrefix = useId();

  // Any navigation closes the phone sidebar.
  const [shownPath, setShownPath] = useState(pathname);
  if (shownPath !== pathname) {
    setShownPath(pathname);
    setOpen(false);
  }

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

  function close() {
    setOpen(false);
    toggle.current?.focus();
  }

  async function rename(id: string, title: string) {
    setError(null);
    list.patch(id, { title, titleByUser: true });
    folders.patchChat(id, { title, titleByUser: true });
    setFound((f) => f && { ...f, items: f.items.map((c) => (c.id === id ? { ...c, title, titleByUser: true } : c)) });
    const res = await fetch(`/api/conversations/${id}`, { method: "PATCH", headers: { "content-type": "application/json" }, body: JSON.stringify({ title }) });
    if (!res.ok) setError("Could not rename the conversation.");
    // No router.refresh(): it would re-render the open chat and cut an answer being written.
  }

  async function remove(id: string) {
    setError(null);
    const res = await fetch(`/api/conversations/${id}`, { method: "DELETE" });
    if (!res.ok) return setError("Could not delete the conversation.");
    list.remove(id);
    folders.removeChat(id);
    setFound((f) => f && { ...f, items: f.items.filter((c) => c.id !== id) });
    if (currentId === id) router.push("/");
  }

  /** Files, pins or archives a chat, then reads the lists again (the chat changes section). */
  async function organise(id: string, change: { folderId?: string | null; pinned?: boolean; archived?: boolean }, failed: string, { viaMenu = true } = {}) {
    setError(null);
    const res = await fetch(`/api/conversations/${id}`, { method: "PATCH", headers: { "content-type": "application/json" }, body: JSON.stringify(change) }).catch(() => null);
    if (!res?.ok) return setError(failed);
    const { conversation } = (await res.json()) as { conversation: Item };
    const moved = { folderId: conversation.folderId, pinnedAt: conversation.pinnedAt, archivedAt: conversation.archivedAt };
    // Shown in its new section at once; the lists are read again below.
    list.remove(id);
    folders.removeChat(id);
    const item: Item = { id, title: conversation.title, titleByUser: conversation.titleByUser, updatedAt: conversation.updatedAt, ...moved };
    if (!moved.archivedAt) {
      if (moved.pinnedAt || !moved.folderId) list.add(item);
      else folders.addChat(moved.folderId, item);
      // The row's menu had the focus: it follows the row to its new place.
      if (viaMenu) setFocusRow(id);
    }
    setFound((f) => f && { ...f, items: f.items.map((c) => (c.id === id ? { ...c, ...moved } : c)) });
    conversationsChanged();
    // The archive page lists what is archived (no answer is written there to cut).
    if (pathname === "/archived") router.refresh();
  }

  async function createFolder(name: string) {
    setError(null);
    const res = await fetch("/api/folders", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name }) }).catch(() => null);
    if (!res?.ok) return setError("Could not create the folder.");
    await folders.reload();
  }

  async function changeFolder(id: string, change: { name?: string; collapsed?: boolean }) {
    setError(null);
    folders.patch(id, change);
    const res = await fetch(`/api/folders/${id}`, { method: "PATCH", headers: { "content-type": "application/json" }, body: JSON.stringify(change) }).catch(() => null);
    if (!res?.ok) {
      setError(change.name !== undefined ? "Could not rename the folder." : "Could not save the folder's state.");
      await folders.reload();
    }
  }

  async function deleteFolder(id: string) {
    setError(null);
    const res = await fetch(`/api/folders/${id}`, { method: "DELETE" }).catch(() => null);
    if (!res?.ok) return setError("Could not delete the folder.");
    folders.remove(id);
    // Its chats are back at the top level.
    conversationsChanged();
  }

  async function showMore() {
    setError(null);
    if (!(await list.showMore())) setError("Could not load more conversations.");
  }

  const pinned = results ? [] : list.conversations.filter((c) => c.pinnedAt);
  const items = results ?? list.conversations.filter((c) => !c.pinnedAt);
  const groups: { label: string | null; items: Item[] }[] =
    today === null ? [{ label: null, items }] : groupByDate(items, (c) => new Date(c.updatedAt), new Date(today));
  const folderTargets = folders.list.map((f) => ({ id: f.id, name: f.name }));
  const row = (c: Item) => (
    <ConversationItem
      key={c.id}
      item={c}
      active={c.id === currentId}
      folders={folderTargets}
      focusMenu={focusRow === c.id}
      onMenuFocused={menuFocused}
      onOpen={() => setOpen(false)}
      onRename={(title) => void rename(c.id, title)}
      onDelete={() => void remove(c.id)}
      onPin={(pin) => void organise(c.id, { pinned: pin }, pin ? "Could not pin the conversation." : "Could not unpin the conversation.")}
      onMove={(folderId) => void organise(c.id, { folderId }, "Could not move the conversation.")}
      onArchive={(archive) => void organise(c.id, { archived: archive }, archive ? "Could not archive the conversation." : "Could not unarchive the conversation.")}
    />
  );
  if (!results && list.pending) {
    // The chat being started now: at the top of today's conversations.
    const placeholder: Item = { id: list.pending, title: NEW_TITLE, titleByUser: false, updatedAt: "" };
    if (groups[0] && (groups[0].label === null || groups[0].label === "Today")) groups[0] = { ...groups[0], items: [placeholder, ...groups[0].items] };
    else groups.unshift({ label: today === null ? null : "Today", items: [placeholder] });
  }
  const empty = groups.every((g) => g.items.length === 0) && pinned.length === 0 && (results !== null || folders.list.length === 0);

  return (
    <>
      <button ref={toggle} type="button" className="sidebar-toggle" aria-label="Conversations" aria-expanded={open} aria-controls={`${idPrefix}-nav`} onClick={() => setOpen(!open)}>
        ☰
      </button>
      <div className="sidebar-backdrop" hidden={!open} aria-hidden="true" onClick={() => setOpen(false)} />
      <nav
        id={`${idPrefix}-nav`}
        className={`sidebar ${open ? "sidebar-open" : ""}`}
        aria-label="Conversations"
        onKeyDown={(e) => {
          if (e.key === "Escape" && open) {
            // Esc closes the drawer only; it must not also stop the answer being written.
            e.preventDefault();
            e.stopPropagation();
            close();
          }
        }}
      >
        <Link className="button button-primary new-chat" href="/" onClick={() => setOpen(false)}>
          + New chat
        </Link>
        <input className="search" type="search" placeholder="Search conversations" aria-label="Search conversations" value={query} onChange={(e) => setQuery(e.target.value)} />
        {error && (
          <p className="error small" role="alert">
            {error}
          </p>
        )}
        <div className="conversation-groups">
          {pinned.length > 0 && (
            <div className="conversation-group">
              <h2 id={`${idPrefix}-pinned`} className="conversation-group-heading">
                Pinned
              </h2>
              <ul className="conversation-list" aria-labelledby={`${idPrefix}-pinned`}>
                {pinned.map(row)}
              </ul>
            </div>
          )}
          {!results && (
            <div className="conversation-group">
              <div className="folders-heading">
                {/* A heading once there are folders (until then, only the button). */}
                {folders.list.length > 0 && (
                  <h2 id={`${idPrefix}-folders`} className="conversation-group-heading">
                    Folders
                  </h2>
                )}
                {!naming && (
                  <button type="button" className="link-button" onClick={() => setNaming(true)}>
                    + New folder
                  </button>
                )}
              </div>
              {naming && (
                <NameInput
                  label="New folder name"
                  value=""
                  onDone={(name) => {
                    setNaming(false);
                    if (name) void createFolder(name);
                  }}
                />
              )}
              {folders.list.length > 0 && (
                <ul className="folder-list" aria-labelledby={`${idPrefix}-folders`}>
                  {folders.list.map((f) => (
                    <FolderItem
                      key={f.id}
                      folder={f}
                      count={f.conversations.length}
                      more={f.more}
                      onToggle={() => void changeFolder(f.id, { collapsed: !f.collapsed })}
                      onRename={(name) => void changeFolder(f.id, { name })}
                      onDelete={() => void deleteFolder(f.id)}
                      onDropChat={(chat) => {
                        if (!f.conversations.some((c) => c.id === chat)) void organise(chat, { folderId: f.id }, "Could not move the conversation.", { viaMenu: false });
                      }}
                    >
                      {f.conversations.map(row)}
                    </FolderItem>
                  ))}
                </ul>
              )}
            </div>
          )}
          {empty && <p className="muted small">{results ? "Nothing found." : "No conversations yet."}</p>}
          <div
            className={`top-level${dropTop ? " folder-drop" : ""}`}
            // A chat dragged out of a folder onto the dated list goes back to the top level.
            onDragOver={(e) => {
              if (results || !e.dataTransfer.types.includes(CONVERSATION_DRAG_TYPE)) return;
              e.preventDefault();
              setDropTop(true);
            }}
            onDragLeave={(e) => {
              if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setDropTop(false);
            }}
            onDrop={(e) => {
              setDropTop(false);
              const chat = e.dataTransfer.getData(CONVERSATION_DRAG_TYPE);
              if (!chat || !folders.chatIds.has(chat)) return;
              e.preventDefault();
              void organise(chat, { folderId: null }, "Could not move the conversation.", { viaMenu: false });
            }}
          >
            {groups.map(
              (group, i) =>
                group.items.length > 0 && (
                  <div key={group.label ?? "all"} className="conversation-group">
                    {group.label && (
                      <h2 id={`${idPrefix}-group-${i}`} className="conversation-group-heading">
                        {group.label}
                      </h2>
                    )}
                    <ul className="conversation-list" aria-labelledby={group.label ? `${idPrefix}-group-${i}` : undefined}>
                      {group.items.map(row)}
                    </ul>
                  </div>
                ),
            )}
          </div>
          {!results && list.hasMore && (
            <button type="button" className="button show-more" onClick={showMore} disabled={list.loadingMore}>
              {list.loadingMore ? "Loading…" : "Show more"}
            </button>
          )}
        </div>
        <footer className="sidebar-footer">
          <span className="muted small" title={user}>
            {user}
          </span>
          <Link className="link-button" href="/images" onClick={() => setOpen(false)}>
            Images
          </Link>
          <Link className="link-button" href="/archived" aria-current={pathname === "/archived" ? "page" : undefined} onClick={() => setOpen(false)}>
            Archived
          </Link>
          <Link className="link-button" href="/settings" onClick={() => setOpen(false)}>
            Account settings
          </Link>
          <SignOutButton />
        </footer>
      </nav>
    </>
  );
}

/**
 * Local midnight today (ms), for the date headings; null while rendering on
 * the server and hydrating, whose clock and time zone may not be the user's
 * (the list is shown without headings until then).
 */
function useToday(): number | null {
  return useSyncExternalStore(subscribeMinutes, () => startOfDay(new Date(), 0), () => null);
}

function subscribeMinutes(changed: () => void): () => void {
  const timer = setInterval(changed, 60_000);
  return () => clearInterval(timer);
}
