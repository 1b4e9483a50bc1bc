"use client";

import { useChat } from "@ai-sdk/react";
import { DefaultChatTransport, type FileUIPart } from "ai";
import { useRouter } from "next/navigation";
import { useEffect, useRef, useState } from "react";
import type { ChatUIMessage } from "@/lib/chat/ui-message";
import { Composer } from "./composer";
import { ExportMenu } from "./export-menu";
import { MessageView } from "./message-view";
import { ModelStatus, useModelHealth } from "./model-status";
import { useAttachments } from "./use-attachments";

const SAMPLE_IMAGE = "/samples/shapes.png";

export function ChatView({
  conversationId: initialId,
  initialMessages,
  maxImages,
}: {
  conversationId: string | null;
  initialMessages: ChatUIMessage[];
  maxImages: number;
}) {
  const router = useRouter();
  const health = useModelHealth();
  const canSee = health?.status === "ready" && typeof health.model === "object" ? health.model.vision : true;
  // The conversation is created on the first message; the transport reads the id when it sends.
  const conversation = useRef<string | null>(initialId);
  const attachments = useAttachments({ max: maxImages });
  const [text, setText] = useState("");
  const [editing, setEditing] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const bottomRef = useRef<HTMLDivElement>(null);

  const [transport] = useState(
    () =>
      new DefaultChatTransport<ChatUIMessage>({
        api: "/api/chat",
        // The server owns the history: send only the conversation id and the new message.
        prepareSendMessagesRequest: ({ messages, trigger, messageId, body }) => ({
          body: {
            id: (body as { conversationId?: string } | undefined)?.conversationId,
            trigger,
            message: trigger === "submit-message" ? messages.at(-1) : undefined,
            replaceLast: trigger === "submit-message" && messageId !== undefined,
          },
        }),
      }),
  );

  const { messages, sendMessage, regenerate, stop, status, error, clearError } = useChat<ChatUIMessage>({
    id: initialId ?? undefined,
    messages: initialMessages,
    transport,
    // Re-render at most every 50 ms while tokens stream in: long answers stay smooth.
    experimental_throttle: 50,
    onFinish: () => router.refresh(),
    onError: () => router.refresh(),
  });
  const busy = status === "submitted" || status === "streaming";

  useEffect(() => {
    bottomRef.current?.scrollIntoView({ block: "end" });
  }, [messages]);

  // Esc stops the answer being written.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape" && busy) void stop();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [busy, stop]);

  const dropped = messages.findLast((m) => m.role === "assistant")?.metadata?.droppedMessages;

  async function ensureConversation(): Promise<string> {
    if (conversation.current) return conversation.current;
    const res = await fetch("/api/conversations", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    if (!res.ok) throw new Error("Could not start a conversation.");
    const created = ((await res.json()) as { conversation: { id: string } }).conversation;
    conversation.current = created.id;
    window.history.replaceState(null, "", `/c/${created.id}`);
    return created.id;
  }

  /** Sends the composer's text and images; while editing, they replace the last question. */
  async function send() {
    const files = attachments.parts;
    if (busy || attachments.uploading || (!text.trim() && !files.length)) return;
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
      setNotice((err as Error).message);
      return;
    }
    const value = text.trim();
    const messageId = editing ?? undefined;
    setText("");
    attachments.clear();
    setEditing(null);
    await sendMessage(value ? { text: value, files, messageId } : { files, messageId }, { body: { conversationId } });
  }

  function startEdit(message: ChatUIMessage) {
    setEditing(message.id);
    setText(message.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("\n"));
    attachments.reset(message.parts.filter((p): p is FileUIPart => p.type === "file"));
  }

  async function trySample() {
    const blob = await (await fetch(SAMPLE_IMAGE)).blob();
    attachments.add([new File([blob], "shapes.png", { type: "image/png" })]);
    setText("Describe the image.");
  }

  const lastUser = messages.findLast((m) => m.role === "user");
  const last = messages.at(-1);

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
        const files = [...e.dataTransfer.files].filter((f) => f.type.startsWith("image/") || !f.type);
        if (files.length) attachments.add(files);
      }}
    >
      <header className="chat-header">
        <ModelStatus health={health} />
        <ExportMenu conversation={conversation} show={messages.length > 0} />
      </header>
      <section className="messages" aria-live="polite">
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
            <ul className="muted">
              <li>“What color is the circle?”</li>
              <li>“How many shapes are there?”</li>
              <li>“Is the square on the left or the right?”</li>
            </ul>
          </div>
        )}
        {dropped ? (
          <p className="notice" role="status">
            {dropped} earlier message{dropped === 1 ? "" : "s"} did not fit the model’s context and {dropped === 1 ? "was" : "were"} left out of this answer.
          </p>
        ) : null}
        {messages.map((m) => (
          <MessageView
            key={m.id}
            message={m}
            streaming={busy && m.id === last?.id && m.role === "assistant"}
            onRegenerate={!busy && m.id === last?.id && m.role === "assistant" ? () => regenerate({ body: { conversationId: conversation.current } }) : undefined}
            onEdit={!busy && m.id === lastUser?.id ? () => startEdit(m) : undefined}
          />
        ))}
        {status === "submitted" && <p className="muted thinking">Thinking…</p>}
        {error && (
          <p className="error" role="alert">
            {errorMessage(error)}
          </p>
        )}
        <div ref={bottomRef} />
      </section>
      {notice && (
        <p className="notice" role="alert">
          {notice}
        </p>
      )}
      <Composer
        text={text}
        onText={setText}
        attachments={attachments}
        canSeeImages={canSee}
        busy={busy}
        editing={editing !== null}
        onCancelEdit={() => {
          setEditing(null);
          setText("");
          attachments.clear();
        }}
        onSend={send}
        onStop={() => void stop()}
      />
    </main>
  );
}

function errorMessage(error: Error): string {
  try {
    const parsed = JSON.parse(error.message) as { error?: { message?: string } };
    if (parsed.error?.message) return parsed.error.message;
  } catch {
    /* plain text */
  }
  return error.message || "Something went wrong.";
}
