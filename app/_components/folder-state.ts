"use client";

import { useCallback, useEffect, useRef, useState } from "react";
import { CONVERSATIONS_CHANGED } from "./events";
import type { FolderView } from "./folder-item";
import type { ConversationItem } from "./use-conversations";

export interface SidebarFolder extends FolderView {
  /** Its chats that are neither pinned nor archived, most recently active first. */
  conversations: ConversationItem[];
  /** It holds more chats than these (lib/db/folders.ts: FOLDER_CHATS_MAX). */
  more?: boolean;
}

/**
 * The sidebar's folders: from the server render, read again (GET
 * /api/folders) whenever a chat says the lists changed, and changed here at
 * once for a rename, an open/close or a delete.
 */
export function useFolders(initial: SidebarFolder[]) {
  const [seen, setSeen] = useState(initial);
  const [list, setList] = useState(initial);
  if (seen !== initial) {
    setSeen(initial);
    setList(initial);
  }

  // A reload that was asked for before a rename or an open/close must not undo it when its answer
  // comes back (the server may have read the folder before the change was saved): each local
  // change is numbered, and a reload keeps the name and state of folders changed since it began.
  const edits = useRef(0);
  const editedAt = useRef(new Map<string, number>());
  const reload = useCallback(async () => {
    const since = edits.current;
    const res = await fetch("/api/folders", { cache: "no-store" }).catch(() => null);
    if (!res?.ok) return;
    const { folders } = (await res.json()) as { folders: (FolderView & { conversations: ConversationItem[]; more: boolean })[] };
    setList((local) =>
      folders.map((f) => {
        const mine = (editedAt.current.get(f.id) ?? -1) > since ? local.find((l) => l.id === f.id) : undefined;
        return { id: f.id, name: mine?.name ?? f.name, collapsed: mine?.collapsed ?? f.collapsed, conversations: f.conversations, more: f.more };
      }),
    );
  }, []);

  useEffect(() => {
    const onChange = () => void reload();
    window.addEventListener(CONVERSATIONS_CHANGED, onChange);
    return () => window.removeEventListener(CONVERSATIONS_CHANGED, onChange);
  }, [reload]);

  const chatIds = new Set(list.flatMap((f) => f.conversations.map((c) => c.id)));

  return {
    list,
    chatIds,
    reload,
    patch: (id: string, change: Partial<FolderView>) => {
      editedAt.current.set(id, ++edits.current);
      setList((l) => l.map((f) => (f.id === id ? { ...f, ...change } : f)));
    },
    remove: (id: string) => setList((l) => l.filter((f) => f.id !== id)),
    patchChat: (id: string, change: Partial<ConversationItem>) =>
      setList((l) => l.map((f) => ({ ...f, conversations: f.conversations.map((c) => (c.id === id ? { ...c, ...change } : c)) }))),
    /** Shows a chat in its folder at once (by last activity), before the server's list follows. */
    addChat: (folderId: string, item: ConversationItem) =>
      setList((l) =>
        l.map((f) =>
          f.id === folderId ? { ...f, conversations: [...f.conversations.filter((c) => c.id !== item.id), item].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt)) } : f,
        ),
      ),
    removeChat: (id: string) => setList((l) => l.map((f) => ({ ...f, conversations: f.conversations.filter((c) => c.id !== id) }))),
  };
}
