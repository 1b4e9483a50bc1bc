"use client";

import { useCallback, useEffect, useRef, useState } from "react";
import { CONVERSATIONS_CHANGED } from "./events";

export interface ConversationItem {
  id: string;
  title: string;
  /** True once the user renamed it (the model's title will not replace it). */
  titleByUser: boolean;
  /** Last activity, ISO 8601. */
  updatedAt: string;
  /** The folder it is filed in; null or absent = the top level. */
  folderId?: string | null;
  /** When pinned (ISO 8601); null or absent = not pinned. */
  pinnedAt?: string | null;
  /** When archived (ISO 8601); null or absent = not archived. */
  archivedAt?: string | null;
}

interface Page {
  conversations: ConversationItem[];
  nextCursor: string | null;
}

/** The schema's default title, which a conversation has until its first answer. */
export const NEW_TITLE = "New conversation";
/** How often a freshly named conversation is checked for the model's title, in ms, and how many times. */
const TITLE_POLL_MS = 2500;
const TITLE_POLL_TRIES = 12;

/**
 * The sidebar's list: the first page from the server (replaced on every
 * server render, and refetched when a chat says it changed), the pages added by "Show more", the open conversation
 * while it is not in the list yet (a new chat during its first answer has
 * only been put in the address bar with history.replaceState), and a short
 * poll that picks up the title the model writes after the first answer.
 */
export function useConversations({
  initial,
  nextCursor,
  pageSize,
  currentId,
  shownElsewhere,
}: {
  initial: ConversationItem[];
  nextCursor: string | null;
  pageSize: number;
  /** The conversation in the address bar, if any. */
  currentId: string | null;
  /** Ids the sidebar shows outside this list (in its folders): never fetched as the open conversation. */
  shownElsewhere?: ReadonlySet<string>;
}) {
  const [seen, setSeen] = useState(initial);
  const [first, setFirst] = useState(initial);
  const [more, setMore] = useState<{ items: ConversationItem[]; cursor: string | null } | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  /** The open conversation when it is in no loaded page (null item: it does not exist). */
  const [fetched, setFetched] = useState<{ id: string; item: ConversationItem | null } | null>(null);
  /** A conversation just named after its first question, whose model-written title may follow. */
  const [watch, setWatch] = useState<{ id: string; title: string } | null>(null);

  const firstIds = new Set(first.map((c) => c.id));
  const loaded = [...first, ...(more?.items ?? []).filter((c) => !firstIds.has(c.id))];
  const known = currentId === null || loaded.some((c) => c.id === currentId) || !!shownElsewhere?.has(currentId);
  const outside = !known && fetched?.id === currentId ? fetched.item : null;
  /** The open conversation shown as "New conversation" until the server lists it. */
  const pending = !known && fetched?.id !== currentId ? currentId : null;
  const conversations = outside ? [...loaded, outside].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt)) : loaded;

  /** Takes a new first page, and starts watching a conversation that may get the model's title. */
  function acceptFirstPage(page: ConversationItem[]) {
    setFirst(page);
    const shown = new Map(conversations.map((c) => [c.id, c.title]));
    if (pending) shown.set(pending, NEW_TITLE);
    // Named after its first question just now, or (the open one) still waiting for that name.
    const naming = page.find((c) => !c.titleByUser && shown.get(c.id) === NEW_TITLE && (c.title !== NEW_TITLE || c.id === currentId));
    if (naming) setWatch({ id: naming.id, title: naming.title });
  }
  const accept = useRef(acceptFirstPage);
  useEffect(() => {
    accept.current = acceptFirstPage;
  });

  // A server render (a navigation) brings a new first page.
  if (seen !== initial) {
    setSeen(initial);
    acceptFirstPage(initial);
  }

  // So does a chat that says the list changed (a conversation started, an answer saved):
  // fetched here, never by re-rendering the page, which would cut the chat's answer.
  useEffect(() => {
    const reload = async () => {
      const res = await fetch(`/api/conversations?limit=${pageSize}`, { cache: "no-store" }).catch(() => null);
      if (res?.ok) accept.current(((await res.json()) as Page).conversations);
    };
    window.addEventListener(CONVERSATIONS_CHANGED, reload);
    return () => window.removeEventListener(CONVERSATIONS_CHANGED, reload);
  }, [pageSize]);

  // The open conversation is in no loaded page: ask for it (a new chat is listed as "New conversation" meanwhile).
  useEffect(() => {
    if (!pending) return;
    let cancelled = false;
    fetch(`/api/conversations/${encodeURIComponent(pending)}`)
      .then(async (res) => {
        if (cancelled) return;
        const body = res.ok ? ((await res.json()) as { conversation: ConversationItem }) : null;
        const c = body?.conversation;
        // An archived or filed chat opened by its address is not put among the dates.
        const listed = c && !c.archivedAt && (!c.folderId || c.pinnedAt);
        setFetched({ id: pending, item: c && listed ? { id: c.id, title: c.title, titleByUser: c.titleByUser, updatedAt: c.updatedAt, folderId: c.folderId, pinnedAt: c.pinnedAt } : null });
      })
      .catch(() => {});
    return () => {
      cancelled = true;
    };
  }, [pending]);

  /** Changes an item here at once (the server's copy follows on the next refresh). */
  const patch = useCallback((id: string, change: Partial<ConversationItem>) => {
    const apply = (items: ConversationItem[]) => items.map((c) => (c.id === id ? { ...c, ...change } : c));
    setFirst(apply);
    setMore((m) => m && { ...m, items: apply(m.items) });
    setFetched((f) => f && f.item && { ...f, item: apply([f.item])[0]! });
  }, []);

  // The model names a conversation in the background after its first answer: check a few times.
  useEffect(() => {
    if (!watch) return;
    let tries = 0;
    const timer = setInterval(async () => {
      tries++;
      const res = await fetch(`/api/conversations?limit=${pageSize}`).catch(() => null);
      const page = res?.ok ? ((await res.json()) as Page) : null;
      const now = page?.conversations.find((c) => c.id === watch.id);
      if (now && now.title !== watch.title) {
        patch(watch.id, { title: now.title, titleByUser: now.titleByUser });
        // From the default title to the first question's: the model's title may still follow.
        setWatch(watch.title === NEW_TITLE && !now.titleByUser ? { id: watch.id, title: now.title } : null);
      } else if (tries >= TITLE_POLL_TRIES || (page && !now)) {
        setWatch(null);
      }
    }, TITLE_POLL_MS);
    return () => clearInterval(timer);
  }, [watch, pageSize, patch]);

  const cursor = more ? more.cursor : nextCursor;

  /** Loads the next page; false when it failed. */
  async function showMore(): Promise<boolean> {
    if (!cursor || loadingMore) return true;
    setLoadingMore(true);
    try {
      const res = await fetch(`/api/conversations?limit=${pageSize}&cursor=${encodeURIComponent(cursor)}`);
      if (!res.ok) return false;
      const page = (await res.json()) as Page;
      setMore((m) => ({ items: [...(m?.items ?? []), ...page.conversations], cursor: page.nextCursor }));
      return true;
    } catch {
      return false;
    } finally {
      setLoadingMore(false);
    }
  }

  /** Puts an item in the first page at its place (pinned ones first, newest pin first, then by last activity), e.g. one just moved out of a folder. */
  function add(item: ConversationItem) {
    const rank = (c: ConversationItem) => [c.pinnedAt ?? "", c.updatedAt] as const;
    const order = (a: ConversationItem, b: ConversationItem) => {
      const [pa, ua] = rank(a);
      const [pb, ub] = rank(b);
      return pb.localeCompare(pa) || ub.localeCompare(ua);
    };
    setFirst((items) => [...items.filter((c) => c.id !== item.id), item].sort(order));
    setMore((m) => m && { ...m, items: m.items.filter((c) => c.id !== item.id) });
  }

  function remove(id: string) {
    setFirst((items) => items.filter((c) => c.id !== id));
    setMore((m) => m && { ...m, items: m.items.filter((c) => c.id !== id) });
  }

  return { conversations, pending, hasMore: cursor !== null, loadingMore, showMore, patch, add, remove };
}
