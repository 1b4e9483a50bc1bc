"use client";

import { useChat } from "@ai-sdk/react";
import { DefaultChatTransport } from "ai";
import { useEffect, useRef, useState, type RefObject } from "react";
import type { SamplingSettings } from "@/lib/chat/settings";
import type { ChatUIMessage } from "@/lib/chat/ui-message";
import { conversationsChanged } from "./events";
import { useBranchSync } from "./use-branch-sync";
import type { Draft } from "./use-draft";

/** A generation turn's options ("Create image"): size as "WxH" and sampling steps. */
export interface ImageOptions {
  size?: string;
  steps?: number;
}

/**
 * The turns of one conversation: sending a question (or an edit), regenerating an answer,
 * stopping, and what happens to the question when the server cannot be reached or refuses it.
 *
 * The conversation is created on its first message (`ensureConversation`); the server owns the
 * history, so only the conversation id and the new message are sent.
 *
 * An answer is written by the server whether or not this page reads it: leaving stops nothing,
 * and a page that opens (or comes back to) a conversation whose answer is being written joins
 * it (`resume`, GET /api/chat/:id/stream). Stop asks the server to stop it, for every tab.
 */
export function useChatTurns({
  conversation,
  initialMessages,
  settings,
  onCreated,
  onNotSent,
  onOffline,
}: {
  /** The conversation's id, null until its first message creates it. */
  conversation: RefObject<string | null>;
  initialMessages: ChatUIMessage[];
  /** Settings a new conversation is created with. */
  settings: { systemPrompt: string | null; settings: SamplingSettings };
  /** The first message created the conversation: `conversation` must name it from now on. */
  onCreated: (id: string) => void;
  /** A question that did not reach the model, to put back into the composer. */
  onNotSent: (draft: Draft) => void;
  /** The server could not be reached: hold the composer's content until it is back. */
  onOffline: () => void;
}) {
  /** The draft of the send in flight, to give back if the server cannot be reached. */
  const inFlight = useRef<Draft | null>(null);
  /** Stop was pressed here: the stream's abort is the answer being stopped (not a join let go of). */
  const stopping = useRef(false);
  /** The messages shown before the send in flight, to go back to if it never reached the server. */
  const shownBefore = useRef<ChatUIMessage[]>([]);

  const [transport] = useState(
    () =>
      new DefaultChatTransport<ChatUIMessage>({
        api: "/api/chat",
        prepareSendMessagesRequest: ({ messages, trigger, messageId, body }) => {
          const extra = body as { conversationId?: string; parentId?: string; continue?: boolean; kind?: "image"; image?: ImageOptions } | undefined;
          return {
            body: {
              id: extra?.conversationId,
              parentId: extra?.parentId,
              trigger,
              // Only the user's own parts: what the page added to it (none today) is not the server's to read.
              message: trigger === "submit-message" ? messages.at(-1) : undefined,
              // Edit: the question this one replaces; regenerate: the answer to write again (or continue).
              messageId,
              continue: extra?.continue,
              // "Create image": the answer is an image made from the message (its size and steps).
              kind: extra?.kind,
              image: extra?.image,
            },
          };
        },
        // The conversation's id, also when this page created it (the chat keeps the id it started with).
        prepareReconnectToStreamRequest: () => ({ api: `/api/chat/${encodeURIComponent(conversation.current ?? "none")}/stream` }),
      }),
  );

  // The id the chat started with: a conversation created by the first message keeps the same chat.
  const [chatId] = useState(() => conversation.current ?? undefined);
  const chat = useChat<ChatUIMessage>({
    id: chatId,
    messages: initialMessages,
    transport,
    // Re-render at most every 50 ms while tokens stream in: long answers stay smooth.
    experimental_throttle: 50,
    // Joins the answer being written, if any, when the page opens an existing conversation.
    resume: Boolean(chatId),
    onFinish: ({ message, isAbort, isDisconnect, isError }) => {
      const draft = inFlight.current;
      inFlight.current = null;
      // The server names the saved question in the answer's first chunk: without it, nothing was saved.
      const saved = message.role === "assistant" && Boolean(message.metadata?.userMessageId);
      if (isDisconnect && draft && !saved) {
        // Nothing reached the server: take the question back into the composer and send it when the server is back.
        giveBack(draft);
        chat.clearError();
        onOffline();
        return;
      }
      if (isError && draft && !saved) {
        // Refused before anything was saved (the model busy, a model that cannot see images…): the words go back into the box.
        giveBack(draft);
        return;
      }
      // A stream this page let go of without Stop (a join replaced by another) says nothing about the answer.
      const stopped = isAbort && stopping.current;
      stopping.current = false;
      if (isAbort && !stopped) return;
      if (stopped) {
        // Say "Stopped" at once; the server saves the same.
        chat.setMessages((all) => all.map((m) => (m.id === message.id ? { ...m, metadata: { ...m.metadata, status: "stopped" } } : m)));
      }
      if (!isDisconnect) void branch.sync({ stopped: stopped ? message.id : undefined });
      // Cut off mid-answer: the server saves the answer as it can; pick up its ids and state once it answers again.
      else branch.syncWhenBack();
      conversationsChanged();
    },
  });
  const { messages, setMessages, status } = chat;
  const busy = status === "submitted" || status === "streaming";
  const branch = useBranchSync({ conversation, messages, setMessages, busy });

  // Back to this tab: an answer another tab (or another device) started meanwhile is joined.
  const { resumeStream } = chat;
  useEffect(() => {
    if (busy) return;
    const onVisible = () => {
      if (document.visibilityState === "visible" && conversation.current) void resumeStream();
    };
    document.addEventListener("visibilitychange", onVisible);
    return () => document.removeEventListener("visibilitychange", onVisible);
  }, [busy, conversation, resumeStream]);

  /** Puts a draft that did not reach the server back into the composer, and the list as it was. */
  function giveBack(draft: Draft) {
    setMessages(shownBefore.current);
    onNotSent(draft);
  }

  async function ensureConversation(): Promise<string> {
    if (conversation.current) return conversation.current;
    const res = await fetch("/api/conversations", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ systemPrompt: settings.systemPrompt ?? undefined, settings: settings.settings }),
    });
    if (!res.ok) throw new Error(((await res.json().catch(() => null)) as { error?: { message?: string } } | null)?.error?.message ?? "Could not start a conversation.");
    const created = ((await res.json()) as { conversation: { id: string } }).conversation;
    onCreated(created.id);
    window.history.replaceState(null, "", `/c/${created.id}`);
    conversationsChanged();
    return created.id;
  }

  /**
   * Sends a question (a new version of `draft.editing` when set), taken from the composer by
   * `take` (at once, before the conversation is created); with `image`, the answer is an image
   * generated from it. Resolves to an error message for the user, or null.
   */
  async function send(take: () => Draft, { image }: { image?: ImageOptions } = {}): Promise<string | null> {
    chat.clearError();
    // The composer empties at once: what is typed while a new chat is being created belongs to the next message.
    const draft = take();
    let conversationId: string;
    try {
      conversationId = await ensureConversation();
    } catch (err) {
      onNotSent(draft);
      // The server is gone: keep everything in the composer and try again when it is back.
      if (err instanceof TypeError) onOffline();
      return err instanceof TypeError ? null : (err as Error).message;
    }
    inFlight.current = draft;
    shownBefore.current = messages;
    branch.startTurn();
    // A new question follows the last answer shown here (another tab may show another branch).
    const last = messages.at(-1);
    const messageId = draft.editing ?? undefined;
    const parentId = !messageId && last?.role === "assistant" ? last.id : undefined;
    try {
      await chat.sendMessage(draft.text ? { text: draft.text, files: draft.files, messageId } : { files: draft.files, messageId }, { body: { conversationId, parentId, ...(image ? { kind: "image", image } : {}) } });
    } catch (err) {
      // The SDK refused before sending (e.g. the edited message is gone): nothing is lost.
      inFlight.current = null;
      giveBack(draft);
      return (err as Error).message;
    }
    return null;
  }

  /** Writes an answer again; the earlier one stays as a version. */
  function regenerate(answer: ChatUIMessage) {
    void chat.regenerate({ messageId: answer.id, body: { conversationId: conversation.current } });
  }

  /** Writes more of an answer cut at its length limit: the same message grows. */
  function continueAnswer(answer: ChatUIMessage) {
    void chat.regenerate({ messageId: answer.id, body: { conversationId: conversation.current, continue: true } });
  }

  /** Stop: the server stops the answer (for every tab); this page shows it stopped at once. */
  function stop() {
    const id = conversation.current;
    if (id) void fetch(`/api/chat/${encodeURIComponent(id)}/stop`, { method: "POST" }).catch(() => {});
    stopping.current = true;
    void chat.stop();
  }

  /** Deletes a message with its branch; shows the branch the server shows then. Resolves to an error message, or null. */
  async function deleteMessage(message: ChatUIMessage): Promise<string | null> {
    const id = conversation.current;
    if (!id) return null;
    branch.startTurn();
    const res = await fetch(`/api/conversations/${encodeURIComponent(id)}/messages/${encodeURIComponent(message.id)}`, { method: "DELETE" }).catch(() => null);
    if (!res?.ok) return ((await res?.json().catch(() => null)) as { error?: { message?: string } } | null)?.error?.message ?? "Could not delete the message.";
    setMessages(((await res.json()) as { messages: ChatUIMessage[] }).messages);
    conversationsChanged();
    return null;
  }

  return {
    messages,
    status,
    error: chat.error ?? null,
    busy,
    send,
    regenerate,
    continueAnswer,
    deleteMessage,
    stop,
    switchVersion: async (messageId: string) => (busy ? true : branch.switchVersion(messageId)),
  };
}
