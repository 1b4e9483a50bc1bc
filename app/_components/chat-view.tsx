"use client";

import "./zod-without-eval";
import { useChat } from "@ai-sdk/react";
import { DefaultChatTransport, type FileUIPart } from "ai";
import { useEffect, useRef, useState } from "react";
import type { SamplingSettings } from "@/lib/chat/settings";
import type { ChatUIMessage } from "@/lib/chat/ui-message";
import { ChatSettings } from "./chat-settings";
import { Composer } from "./composer";
import { conversationsChanged, DRAFT_PREFIX } from "./events";
import { ExportMenu } from "./export-menu";
import { Lightbox } from "./lightbox";
import { MessageView } from "./message-view";
import { ModelPicker, ModelStatus, useModelHealth } from "./model-status";
import { useAttachments } from "./use-attachments";

const SAMPLE_IMAGE = "/samples/shapes.png";
const EXAMPLES = ["What color is the circle?", "How many shapes are there?", "Is the square on the left or the right?"];


/** What the composer held when a send failed for want of a server: sent again once it is back. */
interface HeldDraft {
  text: string;
  files: FileUIPart[];
  editing: string | null;
}

export function ChatView({
  conversationId: initialId,
  initialMessages,
  maxImages,
  initialFiles = [],
  initialSettings = { systemPrompt: null, settings: {} },
}: {
  conversationId: string | null;
  initialMessages: ChatUIMessage[];
  /** Already-uploaded images attached to the first message ("Ask about this image"). */
  initialFiles?: FileUIPart[];
  maxImages: number;
  initialSettings?: { systemPrompt: string | null; settings: SamplingSettings };
}) {
  const health = useModelHealth();
  const canSee = health?.status === "ready" && typeof health.model === "object" ? health.model.vision : true;
  // The conversation is created on the first message; the transport reads the id when it sends.
  const conversation = useRef<string | null>(initialId);
  const attachments = useAttachments({ max: maxImages });
  const [text, setText] = useState("");
  const [editing, setEditing] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [offline, setOffline] = useState(false);
  const [viewing, setViewing] = useState<string | null>(null);
  const [atBottom, setAtBottom] = useState(true);
  const [settings, setSettings] = useState(initialSettings);
  const bottomRef = useRef<HTMLDivElement>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  /** The draft of the send in flight, to give back if the server cannot be reached. */
  const inFlight = useRef<HeldDraft | null>(null);
  /** The messages shown before the send in flight, to go back to if it never reached the server. */
  const shownBefore = useRef<ChatUIMessage[]>([]);
  /** Counts sends, so the answer to an older request never overwrites a newer turn. */
  const turn = useRef(0);
  /** The draft an Edit replaced, given back on Cancel. */
  const stashed = useRef<HeldDraft | null>(null);
  /** A send is waiting for the server to come back. */
  const held = useRef(false);
  const sendRef = useRef<() => Promise<void>>(async () => {});

  const focusInput = () => requestAnimationFrame(() => inputRef.current?.focus());

  // The draft is kept in this tab's session storage, per conversation: a reload or a
  // remount of the page (a late refresh, a navigation) gives it back.
  const draftKey = () => draftStorageKey(conversation.current);
  useEffect(() => {
    const saved = readDraft(draftKey());
    if (!saved && !initialFiles.length) return;
    // Restoring from storage once, after hydration (the server cannot know the draft).
    // eslint-disable-next-line react-hooks/set-state-in-effect
    setText(saved?.text ?? "");
    setEditing(saved?.editing ?? null);
    // Asked about an image from the Images page: that image, whatever the draft held.
    const files = initialFiles.length ? initialFiles : (saved?.files ?? []);
    if (files.length) attachments.reset(files);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  const draft = JSON.stringify({ text, files: attachments.parts, editing });
  useEffect(() => {
    const value = JSON.parse(draft) as HeldDraft;
    if (value.text || value.files.length) sessionStorage.setItem(draftKey(), draft);
    else sessionStorage.removeItem(draftKey());
  }, [draft]);

  const [transport] = useState(
    () =>
      new DefaultChatTransport<ChatUIMessage>({
        api: "/api/chat",
        // The server owns the history: send only the conversation id and the new message.
        prepareSendMessagesRequest: ({ messages, trigger, messageId, body }) => ({
          body: {
            id: (body as { conversationId?: string } | undefined)?.conversationId,
            parentId: (body as { parentId?: string } | undefined)?.parentId,
            trigger,
            message: trigger === "submit-message" ? messages.at(-1) : undefined,
            // Edit: the question this one replaces; regenerate: the answer to write again.
            messageId,
          },
        }),
      }),
  );

  const { messages, setMessages, sendMessage, regenerate, stop, status, error, clearError } = useChat<ChatUIMessage>({
    id: initialId ?? undefined,
    messages: initialMessages,
    transport,
    // Re-render at most every 50 ms while tokens stream in: long answers stay smooth.
    experimental_throttle: 50,
    onFinish: ({ message, isAbort, isDisconnect, isError }) => {
      const draft = inFlight.current;
      inFlight.current = null;
      // The server names the saved question in the answer's first chunk: without it, nothing was saved.
      const saved = message.role === "assistant" && Boolean(message.metadata?.userMessageId);
      if (isDisconnect && draft && !saved) {
        // Nothing reached the server: take the question back into the composer and send it when the server is back.
        holdForServer(draft);
        return;
      }
      if (isError && draft && !saved) {
        // Refused before anything was saved (the model busy, a model that cannot see images…): the words go back into the box.
        giveBack(draft);
        return;
      }
      if (isAbort) {
        // Say "Stopped" at once; the server saves the same.
        setMessages((all) => all.map((m) => (m.id === message.id ? { ...m, metadata: { ...m.metadata, status: "stopped" } } : m)));
      }
      if (!isDisconnect) void syncMessages({ stopped: isAbort ? message.id : undefined });
      // Cut off mid-answer: the server saves the answer as it can; pick up its ids and state once it answers again.
      else resyncWhenBack();
      conversationsChanged();
    },
  });
  const busy = status === "submitted" || status === "streaming";

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

  /** Replaces the client's copy of the branch with the server's (database ids, versions, final states). */
  function resyncWhenBack() {
    let tries = 0;
    // Every 3 s for at most 5 minutes; a reload reads the server's state anyway.
    const timer = setInterval(async () => {
      if ((await syncMessages()) || ++tries >= 100) clearInterval(timer);
    }, 3000);
  }

  /** Returns whether the server answered. */
  async function syncMessages({ stopped }: { stopped?: string } = {}): Promise<boolean> {
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
    if (pending) setTimeout(() => void syncMessages(), 1500);
    return true;
  }

  // Keep to the bottom while the answer grows, unless the reader scrolled up.
  useEffect(() => {
    if (atBottom) bottomRef.current?.scrollIntoView({ block: "end" });
  }, [messages, atBottom]);
  useEffect(() => {
    const el = bottomRef.current;
    if (!el) return;
    const observer = new IntersectionObserver(([entry]) => setAtBottom(entry!.isIntersecting), { rootMargin: "0px 0px 80px 0px" });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  // Esc stops the answer being written (a dialog's Esc belongs to the dialog).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape" && busy && !viewing && !e.defaultPrevented) void stop();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [busy, stop, viewing]);

  useEffect(() => {
    focusInput();
  }, []);

  // While offline: poll until the server answers, then send what was held.
  useEffect(() => {
    if (!offline) return;
    let alive = true;
    const timer = setInterval(async () => {
      const res = await fetch("/api/health", { cache: "no-store" }).catch(() => null);
      if (!alive || !res?.ok) return;
      clearInterval(timer);
      setOffline(false);
      // What the composer holds now: the kept draft, with any change made meanwhile.
      if (held.current) void sendRef.current();
      held.current = false;
    }, 2000);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, [offline]);

  const dropped = messages.findLast((m) => m.role === "assistant")?.metadata?.droppedMessages;

  /** Puts a draft that did not reach the server back into the composer, and the list as it was. */
  function giveBack(draft: HeldDraft) {
    setMessages(shownBefore.current);
    setText((current) => current || draft.text);
    if (!attachments.items.length) attachments.reset(draft.files);
    setEditing(draft.editing);
  }

  function holdForServer(draft: HeldDraft) {
    held.current = true;
    giveBack(draft);
    clearError();
    setOffline(true);
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
    conversation.current = created.id;
    window.history.replaceState(null, "", `/c/${created.id}`);
    conversationsChanged();
    return created.id;
  }

  /** Sends the composer's text and images; while editing, they become a new version of that question. */
  async function send() {
    const files = attachments.parts;
    const value = text.trim();
    const messageId = editing ?? undefined;
    if (busy || attachments.uploading || attachments.failed || (!value && !files.length)) return;
    if (messageId && !messages.some((m) => m.id === messageId)) {
      setNotice("The question being edited is not shown any more. Cancel the edit, or switch back to its version.");
      return;
    }
    if (files.length && !canSee) {
      setNotice("This model cannot see images. Remove them to send.");
      return;
    }
    setNotice(null);
    clearError();
    let conversationId: string;
    try {
      conversationId = await ensureConversation();
    } catch (err) {
      if (err instanceof TypeError) {
        // The server is gone: keep everything in the composer and try again when it is back.
        held.current = true;
        setOffline(true);
      } else setNotice((err as Error).message);
      return;
    }
    const draft = { text: value, files, editing: messageId ?? null };
    inFlight.current = draft;
    shownBefore.current = messages;
    turn.current++;
    stashed.current = null;
    sessionStorage.removeItem(draftStorageKey(null));
    setText("");
    attachments.clear();
    setEditing(null);
    setAtBottom(true);
    // A new question follows the last answer shown here (another tab may show another branch).
    const last = messages.at(-1);
    const parentId = !messageId && last?.role === "assistant" ? last.id : undefined;
    try {
      await sendMessage(value ? { text: value, files, messageId } : { files, messageId }, { body: { conversationId, parentId } });
    } catch (err) {
      // The SDK refused before sending (e.g. the edited message is gone): nothing is lost.
      inFlight.current = null;
      giveBack(draft);
      setNotice((err as Error).message);
    }
  }

  useEffect(() => {
    sendRef.current = send;
  });

  function startEdit(message: ChatUIMessage) {
    // An unsent draft is kept aside, and given back on Cancel.
    if (editing === null && (text.trim() || attachments.parts.length)) stashed.current = { text, files: attachments.parts, editing: null };
    setEditing(message.id);
    setText(message.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("\n"));
    attachments.reset(message.parts.filter((p): p is FileUIPart => p.type === "file"));
    focusInput();
  }

  async function switchVersion(messageId: string) {
    const id = conversation.current;
    if (!id || busy) return;
    const res = await fetch(`/api/conversations/${id}/branch`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messageId }),
    }).catch(() => null);
    if (!res?.ok) return setNotice("Could not switch to that version.");
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
  }

  async function trySample() {
    const blob = await (await fetch(SAMPLE_IMAGE)).blob();
    attachments.add([new File([blob], "shapes.png", { type: "image/png" })]);
    setText("Describe the image.");
    // Enter now sends, instead of pressing the sample button again.
    focusInput();
  }

  function addFiles(files: File[]) {
    const added = attachments.add(files);
    if (added < files.length) {
      setNotice(`At most ${maxImages} images per message: ${files.length - added} ${files.length - added === 1 ? "was" : "were"} not attached.`);
    }
  }

  const last = messages.at(-1);
  const lastStats = messages.findLast((m) => m.role === "assistant" && m.metadata?.stats)?.metadata?.stats;
  const contextSize = health?.status === "ready" && typeof health.model === "object" ? health.backend?.contextSize : undefined;

  return (
    <main
      className={`chat ${dragging ? "chat-dragging" : ""}`}
      onDragOver={(e) => {
        if (e.dataTransfer.types.includes("Files")) {
          e.preventDefault();
          setDragging(true);
        }
      }}
      onDragLeave={(e) => {
        if (e.currentTarget === e.target) setDragging(false);
      }}
      onDrop={(e) => {
        e.preventDefault();
        setDragging(false);
        if (!canSee) return setNotice("This model cannot see images.");
        const files = [...e.dataTransfer.files];
        if (files.length) addFiles(files);
      }}
    >
      <header className="chat-header">
        <ModelStatus health={health} />
        <ModelPicker health={health} disabled={busy} />
        {lastStats && contextSize ? (
          <span className="context-use muted" title="Context used by the last answer (prompt and answer) of the model's window">
            {formatTokens(lastStats.promptTokens + lastStats.completionTokens)} / {formatTokens(contextSize)} tokens
          </span>
        ) : null}
        <ChatSettings
          conversationId={conversation}
          value={settings}
          onChange={setSettings}
          disabled={busy}
        />
        <ExportMenu conversation={conversation} show={messages.length > 0} />
      </header>
      {offline && (
        <p className="banner" role="alert">
          Can’t reach the server. Your message is kept and will be sent when the server is back.
        </p>
      )}
      <section className="messages" aria-label="Conversation">
        {messages.length === 0 && (
          <div className="empty-state">
            <h1>What would you like to know about an image?</h1>
            <p>
              Drop, paste or attach images and ask about them. The assistant runs on this machine; nothing leaves it.
              The built-in demo model knows simple shapes: their colours, kinds, how many there are and where they are.
            </p>
            <button type="button" className="button" onClick={trySample} disabled={!canSee}>
              {/* eslint-disable-next-line @next/next/no-img-element */}
              <img src={SAMPLE_IMAGE} alt="" width={32} height={32} /> Try the sample image
            </button>
            <ul className="examples" aria-label="Example questions">
              {EXAMPLES.map((q) => (
                <li key={q}>
                  <button
                    type="button"
                    className="example"
                    onClick={() => {
                      setText(q);
                      focusInput();
                    }}
                  >
                    {q}
                  </button>
                </li>
              ))}
            </ul>
          </div>
        )}
        {dropped ? (
          <p className="notice" role="status">
            {dropped} earlier message{dropped === 1 ? "" : "s"} did not fit the model’s context and {dropped === 1 ? "was" : "were"} left out of this answer.
          </p>
        ) : null}
        {messages.map((m, i) => (
          <MessageView
            key={m.id}
            message={m}
            modelChanged={m.role === "assistant" && Boolean(m.metadata?.model) && (modelBefore(messages, i) ?? m.metadata?.model) !== m.metadata?.model}
            streaming={busy && m.id === last?.id && m.role === "assistant"}
            busy={busy}
            onRegenerate={m.role === "assistant" ? () => regenerate({ messageId: m.id, body: { conversationId: conversation.current } }) : undefined}
            onEdit={m.role === "user" ? () => startEdit(m) : undefined}
            onVersion={editing ? undefined : switchVersion}
            onView={setViewing}
          />
        ))}
        {status === "submitted" && <p className="muted thinking">Thinking…</p>}
        {error && !offline && (
          <p className="error" role="alert">
            {errorMessage(error)}
          </p>
        )}
        <div ref={bottomRef} className="bottom-sentinel" />
      </section>
      {!atBottom && messages.length > 0 && (
        <button type="button" className="button scroll-bottom" aria-label="Scroll to the newest message" onClick={() => setAtBottom(true)}>
          ↓
        </button>
      )}
      {notice && (
        <p className="notice" role="alert">
          {notice}
        </p>
      )}
      <Composer
        inputRef={inputRef}
        text={text}
        onText={setText}
        attachments={attachments}
        onFiles={addFiles}
        canSeeImages={canSee}
        busy={busy}
        editing={editing !== null}
        onCancelEdit={() => {
          const before = stashed.current;
          stashed.current = null;
          setEditing(null);
          setText(before?.text ?? "");
          if (before?.files.length) attachments.reset(before.files);
          else attachments.clear();
          focusInput();
        }}
        onSend={() => void send()}
        onStop={() => {
          void stop();
          focusInput();
        }}
      />
      {viewing && <Lightbox src={viewing} onClose={() => setViewing(null)} />}
    </main>
  );
}

/** The model of the last answer before message `i` that names one (undefined for the first answer). */
function modelBefore(messages: ChatUIMessage[], i: number): string | null | undefined {
  for (let j = i - 1; j >= 0; j--) if (messages[j]!.role === "assistant" && messages[j]!.metadata?.model) return messages[j]!.metadata!.model;
  return undefined;
}

/** 1234 → "1.2k"; powers of two stay round (4096 → "4k"). */
function formatTokens(n: number): string {
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024}k`;
  return n < 1000 ? String(n) : `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
}

/** Where a conversation's draft is kept in the tab (cleared at sign-in and sign-out: see `clearDrafts`). */
const draftStorageKey = (conversationId: string | null) => `${DRAFT_PREFIX}${conversationId ?? "new"}`;

function readDraft(key: string): HeldDraft | null {
  try {
    const value = JSON.parse(sessionStorage.getItem(key) ?? "null") as HeldDraft | null;
    return value && typeof value.text === "string" && Array.isArray(value.files) ? value : null;
  } catch {
    return null;
  }
}

function errorMessage(error: Error): string {
  try {
    const parsed = JSON.parse(error.message) as { error?: { message?: string } };
    if (parsed.error?.message) return parsed.error.message;
  } catch {
    /* plain text */
  }
  if (error instanceof TypeError) return "The connection to the server was lost while the answer was being written.";
  return error.message || "Something went wrong.";
}
