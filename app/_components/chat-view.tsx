"use client";

import "./zod-without-eval";
import type { FileUIPart } from "ai";
import { useEffect, useRef, useState } from "react";
import { drawPrompt } from "@/lib/chat/draw-command";
import type { SamplingSettings } from "@/lib/chat/settings";
import type { ChatUIMessage } from "@/lib/chat/ui-message";
import { ChatHeader } from "./chat-header";
import { ConfirmDialog } from "./confirm-dialog";
import { Composer } from "./composer";
import { EmptyChat, SAMPLE_IMAGE } from "./empty-chat";

/** What "Try the sample image" suggests asking. */
const SAMPLE_QUESTION = "Describe the image.";
import { Lightbox } from "./lightbox";
import { Messages } from "./messages";
import { useModelHealth } from "./model-status";
import { useChatTurns } from "./use-chat-turns";
import { useDraft } from "./use-draft";
import { useFileDrop } from "./use-file-drop";
import { useImageMode } from "./use-image-mode";
import { useOfflineResend } from "./use-offline-resend";
import { useStickToBottom } from "./use-stick-to-bottom";

/** One conversation (or a new one, created by its first message): the wiring of its header, messages and composer. */
export function ChatView({
  conversationId: initialId,
  initialMessages,
  maxImages,
  initialFiles = [],
  initialSettings = { systemPrompt: null, settings: {} },
  title,
}: {
  conversationId: string | null;
  initialMessages: ChatUIMessage[];
  /** Already-uploaded images attached to the first message ("Ask about this image"). */
  initialFiles?: FileUIPart[];
  maxImages: number;
  initialSettings?: { systemPrompt: string | null; settings: SamplingSettings };
  /** The conversation's title, its page's level-1 heading (as it was when the page loaded). */
  title?: string;
}) {
  const health = useModelHealth();
  const canSee = health?.status === "ready" && typeof health.model === "object" ? health.model.vision : true;
  // The conversation is created on the first message; everything that needs its id reads it then.
  const conversation = useRef<string | null>(initialId);
  const [settings, setSettings] = useState(initialSettings);
  const [notice, setNotice] = useState<{ text: string; aboutImages?: boolean } | null>(null);
  const say = (text: string) => setNotice({ text });
  const [viewing, setViewing] = useState<string | null>(null);
  /** The message the user asked to delete, until they confirm or cancel. */
  const [deleting, setDeleting] = useState<ChatUIMessage | null>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const focusInput = () => requestAnimationFrame(() => inputRef.current?.focus());

  const draft = useDraft({ conversation, initialFiles, maxImages });
  const imageMode = useImageMode();
  const { attachments } = draft;
  const offline = useOfflineResend(() => send());
  const turns = useChatTurns({
    conversation,
    initialMessages,
    settings,
    onCreated: (id) => {
      conversation.current = id;
      draft.adopt();
    },
    onNotSent: draft.giveBack, onOffline: offline.hold,
  });
  const { messages, busy } = turns;
  const scroll = useStickToBottom(messages);
  const drop = useFileDrop((files) => (canSee ? addFiles(files) : say("This model cannot see images.")));

  // A notice about the images attached ("at most 8") no longer holds once one is removed.
  const imageCount = attachments.items.length;
  const [countSeen, setCountSeen] = useState(imageCount);
  if (countSeen !== imageCount) {
    setCountSeen(imageCount);
    if (imageCount < countSeen && notice?.aboutImages) setNotice(null);
  }

  // Esc stops the answer being written (a dialog's Esc belongs to the dialog).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape" && busy && !viewing && !e.defaultPrevented) turns.stop();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [busy, turns, viewing]);

  useEffect(() => {
    focusInput();
  }, []);

  /** Sends the composer's text and images; while editing, they become a new version of that question. */
  async function send() {
    const editing = draft.editing;
    if (busy || attachments.uploading || attachments.failed || (!draft.text.trim() && !attachments.parts.length)) return;
    if (editing && !messages.some((m) => m.id === editing)) {
      say("The question being edited is not shown any more. Cancel the edit, or switch back to its version.");
      return;
    }
    // "Create image" (or "/draw …"): the message is the prompt of an image, made from words only.
    const drawing = imageMode.on || drawPrompt(draft.text) !== null;
    if (drawing && attachments.parts.length) {
      setNotice({ text: "An image is made from words only: remove the attached files to create one.", aboutImages: true });
      return;
    }
    if (attachments.parts.length && !canSee) {
      setNotice({ text: "This model cannot see images. Remove them to send.", aboutImages: true });
      return;
    }
    setNotice(null);
    const refused = await turns.send(
      () => {
        scroll.scrollToBottom();
        return draft.take();
      },
      drawing ? { image: imageMode.options() } : {},
    );
    if (refused) say(refused);
  }

  async function switchVersion(messageId: string) {
    if (!(await turns.switchVersion(messageId))) say("Could not switch to that version.");
  }

  /** Attaches the sample image (once). */
  async function attachSample() {
    const blob = await (await fetch(SAMPLE_IMAGE)).blob();
    attachments.add([new File([blob], "shapes.png", { type: "image/png" })]);
  }

  async function trySample() {
    await attachSample();
    draft.setText(SAMPLE_QUESTION);
    // Enter sends the suggestion (instead of pressing the sample button again); typing replaces it.
    selectOnceShown(SAMPLE_QUESTION);
  }

  /** Focuses the box and selects its text once it shows `text` (on a busy page that can be a few frames after setText). */
  function selectOnceShown(text: string, frames = 60) {
    requestAnimationFrame(() => {
      const box = inputRef.current;
      if (!box) return;
      if (box.value !== text) {
        if (frames > 0) selectOnceShown(text, frames - 1);
        return;
      }
      box.focus();
      box.select();
    });
  }

  /** An example question is about the sample image: it comes along unless images are already attached. */
  async function tryExample(question: string) {
    draft.setText(question);
    focusInput();
    if (canSee && !attachments.items.length) await attachSample();
  }

  function addFiles(files: File[]) {
    const added = attachments.add(files);
    if (added < files.length) {
      setNotice({ text: `At most ${maxImages} images per message: ${files.length - added} ${files.length - added === 1 ? "was" : "were"} not attached.`, aboutImages: true });
    }
  }

  return (
    <main id="content" tabIndex={-1} className={`chat ${drop.dragging ? "chat-dragging" : ""}`} {...drop.handlers}>
      {/* The page's heading: the empty state has its own, visible one. */}
      {messages.length > 0 && <h1 className="sr-only">{title ?? "New conversation"}</h1>}
      <ChatHeader health={health} conversation={conversation} messages={messages} settings={settings} onSettings={setSettings} busy={busy} />
      {offline.offline && (
        <p className="banner" role="alert">
          Can’t reach the server. Your message is kept and will be sent when the server is back.
        </p>
      )}
      <Messages
        messages={messages}
        status={turns.status}
        error={offline.offline ? null : turns.error}
        empty={
          <EmptyChat
            canSee={canSee}
            onSample={trySample}
            onExample={(q) => void tryExample(q)}
          />
        }
        bottomRef={scroll.bottomRef}
        canSwitchVersions={draft.editing === null}
        onRegenerate={turns.regenerate}
        onEdit={(m) => {
          draft.startEdit(m);
          focusInput();
        }}
        onContinue={turns.continueAnswer}
        onDelete={setDeleting}
        onVersion={(id) => void switchVersion(id)}
        onView={setViewing}
      />
      {!scroll.atBottom && messages.length > 0 && (
        // Anchored to the top of what follows (the notice, the composer) whatever their height:
        // a fixed offset from the bottom put it over Send once the composer grew (tiles, a long question).
        <div className="scroll-bottom-anchor">
          <button type="button" className="button scroll-bottom" aria-label="Scroll to the newest message" onClick={scroll.scrollToBottom}>
            ↓
          </button>
        </div>
      )}
      {notice && (
        <p className="notice" role="alert">
          {notice.text}
        </p>
      )}
      <Composer
        inputRef={inputRef}
        text={draft.text}
        onText={draft.setText}
        attachments={attachments}
        onFiles={addFiles}
        canSeeImages={canSee}
        busy={busy}
        editing={draft.editing !== null}
        onCancelEdit={() => {
          draft.cancelEdit();
          focusInput();
        }}
        onSend={() => void send()}
        onStop={() => {
          turns.stop();
          focusInput();
        }}
        imageMode={imageMode}
      />
      {viewing && <Lightbox src={viewing} onClose={() => setViewing(null)} />}
      <ConfirmDialog
        open={deleting !== null}
        title={deleting?.role === "user" ? "Delete this question?" : "Delete this answer?"}
        confirmLabel="Delete"
        onCancel={() => setDeleting(null)}
        onConfirm={async () => {
          const message = deleting;
          setDeleting(null);
          if (!message) return;
          const refused = await turns.deleteMessage(message);
          if (refused) say(refused);
        }}
      >
        <p>It is removed with everything below it in this branch. Other versions stay.</p>
      </ConfirmDialog>
    </main>
  );
}
