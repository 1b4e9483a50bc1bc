"use client";

import type { FileUIPart } from "ai";
import { useEffect, useRef, useState, type RefObject } from "react";
import type { ChatUIMessage } from "@/lib/chat/ui-message";
import { DRAFT_PREFIX } from "./events";
import { useAttachments } from "./use-attachments";

/** What the composer holds: the text, the uploaded images, and the question being edited (if any). */
export interface Draft {
  text: string;
  files: FileUIPart[];
  editing: string | null;
}

/**
 * The message being written: its text, its images and the question it edits.
 *
 * It is kept in this tab's session storage, per conversation, so a reload or a remount of the
 * page (a late refresh, a navigation) gives it back; an Edit puts the unsent draft aside and
 * Cancel gives it back.
 */
export function useDraft({
  conversation,
  initialFiles,
  maxImages,
}: {
  /** The conversation's id, null until its first message creates it (read when the draft is saved). */
  conversation: RefObject<string | null>;
  /** Already-uploaded images to start with ("Ask about this image"); they win over a kept draft's. */
  initialFiles: FileUIPart[];
  /** How many images one message may carry. */
  maxImages: number;
}) {
  const attachments = useAttachments({ max: maxImages });
  const [text, setText] = useState("");
  const [editing, setEditing] = useState<string | null>(null);
  /** The draft an Edit replaced, given back on Cancel. */
  const stashed = useRef<Draft | null>(null);

  const storageKey = () => draftStorageKey(conversation.current);
  useEffect(() => {
    const saved = readDraft(storageKey());
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
  const serialized = JSON.stringify({ text, files: attachments.parts, editing });
  /** The draft as last rendered, for `adopt` (called from a send begun renders ago). */
  const latest = useRef(serialized);
  useEffect(() => {
    latest.current = serialized;
    const value = JSON.parse(serialized) as Draft;
    if (value.text || value.files.length) sessionStorage.setItem(storageKey(), serialized);
    else sessionStorage.removeItem(storageKey());
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [serialized]);

  /** Empties the composer for a send; returns what it held. */
  function take(): Draft {
    const draft = { text: text.trim(), files: attachments.parts, editing };
    stashed.current = null;
    // A new chat's draft was kept under "new": the next new chat starts empty.
    sessionStorage.removeItem(draftStorageKey(null));
    setText("");
    attachments.clear();
    setEditing(null);
    return draft;
  }

  /** The conversation was just created: what is being typed is kept under its id, not as a new chat's draft. */
  function adopt() {
    sessionStorage.removeItem(draftStorageKey(null));
    const value = JSON.parse(latest.current) as Draft;
    if (value.text || value.files.length) sessionStorage.setItem(storageKey(), latest.current);
  }

  /** Puts a draft that was not sent back, keeping anything typed or attached since. */
  function giveBack(draft: Draft) {
    setText((current) => current || draft.text);
    if (!attachments.items.length) attachments.reset(draft.files);
    setEditing(draft.editing);
  }

  /** Loads a question into the composer; sending it makes a new version of it. */
  function startEdit(message: ChatUIMessage) {
    if (editing === null && (text.trim() || attachments.parts.length)) stashed.current = { text, files: attachments.parts, editing: null };
    setEditing(message.id);
    setText(message.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("\n"));
    attachments.reset(message.parts.filter((p): p is FileUIPart => p.type === "file"));
  }

  /** Leaves the edit and gives back the draft it replaced. */
  function cancelEdit() {
    const before = stashed.current;
    stashed.current = null;
    setEditing(null);
    setText(before?.text ?? "");
    if (before?.files.length) attachments.reset(before.files);
    else attachments.clear();
  }

  return { text, setText, editing, attachments, take, giveBack, startEdit, cancelEdit, adopt };
}

/** Where a conversation's draft is kept in the tab (cleared at sign-in and sign-out: see `clearDrafts`). */
const draftStorageKey = (conversationId: string | null) => `${DRAFT_PREFIX}${conversationId ?? "new"}`;

function readDraft(key: string): Draft | null {
  try {
    const value = JSON.parse(sessionStorage.getItem(key) ?? "null") as Draft | null;
    return value && typeof value.text === "string" && Array.isArray(value.files) ? value : null;
  } catch {
    return null;
  }
}
