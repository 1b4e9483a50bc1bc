"use client";

import { useEffect, useRef, type RefObject } from "react";
import type { ChatUIMessage } from "@/lib/chat/ui-message";

type SetMessages = (update: ChatUIMessage[] | ((shown: ChatUIMessage[]) => ChatUIMessage[])) => void;

/**
 * Keeps the page's copy of the branch in step with the server, which owns the history: the
 * database ids, the versions (`‹ 1/2 ›`), the final state of each answer, and which version of a
 * message is shown.
 */
export function useBranchSync({
  conversation,
  messages,
  setMessages,
  busy,
}: {
  conversation: RefObject<string | null>;
  messages: ChatUIMessage[];
  setMessages: SetMessages;
  /** This page is writing an answer (its stream, not the database, says how it ends). */
  busy: boolean;
}) {
  /** Counts sends, so the answer to an older request never overwrites a newer turn. */
  const turn = useRef(0);

  // The answer's first chunk names the saved question: use that id at once (Edit needs it).
  const pendingId = (() => {
    const i = messages.findLastIndex((m) => m.role === "assistant");
    const named = messages[i]?.metadata?.userMessageId;
    const question = messages[i - 1];
    return named && question?.role === "user" && question.id !== named ? { from: question.id, to: named } : null;
  })();
  useEffect(() => {
    if (!pendingId) return;
    setMessages((all) => all.map((m) => (m.id === pendingId.from ? { ...m, id: pendingId.to } : m)));
  }, [pendingId?.from, pendingId?.to, setMessages]); // eslint-disable-line react-hooks/exhaustive-deps

  // An answer the database still calls "streaming" that this page is not writing: the page was
  // reloaded mid-answer (the server closes it as stopped when it notices) or another tab writes it.
  // Look every second, for at most a minute, until it has ended.
  const unsettled = !busy && messages.some((m) => m.role === "assistant" && m.metadata?.status === "streaming");
  useEffect(() => {
    if (!unsettled) return;
    let tries = 0;
    const timer = setInterval(() => {
      if (++tries > 60) clearInterval(timer);
      void sync();
    }, 1000);
    return () => clearInterval(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [unsettled]);

  /** Replaces the page's branch with the server's; returns whether the server answered. */
  async function sync({ stopped }: { stopped?: string } = {}): Promise<boolean> {
    const id = conversation.current;
    if (!id) return true;
    const sentAt = turn.current;
    const res = await fetch(`/api/conversations/${id}/messages`, { cache: "no-store" }).catch(() => null);
    if (!res?.ok) return false;
    // A newer turn started meanwhile: its own sync will follow.
    if (turn.current !== sentAt) return true;
    const body = (await res.json()) as { messages: ChatUIMessage[] };
    // A stopped answer may not be saved as such yet when this arrives: keep what the page shows
    // (the server saves the same text a moment later) and look again then.
    let pending = false;
    setMessages((shown) =>
      body.messages.map((m) => {
        if (m.id !== stopped || m.metadata?.status !== "streaming") return m;
        pending = true;
        const local = shown.find((x) => x.id === m.id);
        return { ...(local ?? m), metadata: { ...m.metadata, ...local?.metadata, versions: m.metadata?.versions, status: "stopped" } };
      }),
    );
    if (pending) setTimeout(() => void sync(), 1500);
    return true;
  }

  /** Cut off mid-answer: syncs every 3 s until the server answers, for at most 5 minutes (a reload reads the server's state anyway). */
  function syncWhenBack() {
    let tries = 0;
    const timer = setInterval(async () => {
      if ((await sync()) || ++tries >= 100) clearInterval(timer);
    }, 3000);
  }

  /** Shows another version of a message (and the branch below it); returns false if the server refused. */
  async function switchVersion(messageId: string): Promise<boolean> {
    const id = conversation.current;
    if (!id) return true;
    const res = await fetch(`/api/conversations/${id}/branch`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messageId }),
    }).catch(() => null);
    if (!res?.ok) return false;
    const next = ((await res.json()) as { messages: ChatUIMessage[] }).messages;
    // The switched message is a new element: put the focus back on its version buttons.
    const position = next.findIndex((m) => m.id === messageId || m.metadata?.versions?.ids.includes(messageId));
    const label = (document.activeElement as HTMLElement | null)?.getAttribute("aria-label");
    setMessages(next);
    requestAnimationFrame(() => {
      const group = document.querySelectorAll<HTMLElement>(".messages > .message")[position]?.querySelector<HTMLElement>(".versions");
      const again = group?.querySelector<HTMLButtonElement>(`button[aria-label="${label}"]:not(:disabled)`) ?? group?.querySelector<HTMLButtonElement>("button:not(:disabled)");
      again?.focus();
    });
    return true;
  }

  /** Marks the start of a new turn: syncs begun before it are ignored. */
  function startTurn() {
    turn.current++;
  }

  return { sync, syncWhenBack, switchVersion, startTurn };
}
