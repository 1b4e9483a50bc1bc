"use client";

import Link from "next/link";
import { useEffect, useId, useRef, useState } from "react";
import type { ConversationItem as Item } from "./use-conversations";

/**
 * One conversation in the sidebar: its link, and a "⋯" button (always shown
 * on touch screens, on hover or focus with a mouse) that opens Rename and
 * Delete. Renaming: Enter or leaving the field saves, Esc cancels.
 */
export function ConversationItem({
  item,
  active,
  onOpen,
  onRename,
  onDelete,
}: {
  item: Item;
  active: boolean;
  /** Called when the link is followed (the phone sidebar closes). */
  onOpen: () => void;
  onRename: (title: string) => void;
  onDelete: () => void;
}) {
  const [mode, setMode] = useState<"view" | "menu" | "renaming" | "confirming">("view");
  const menuButton = useRef<HTMLButtonElement>(null);
  const actionsId = useId();

  /** Back to the plain row; with `focus`, the keyboard user lands on the ⋯ button again. */
  function close(focus: boolean) {
    setMode("view");
    if (focus) requestAnimationFrame(() => menuButton.current?.focus());
  }

  return (
    <li
      className={`conversation-item${active ? " active" : ""}${mode !== "view" ? " conversation-item-open" : ""}`}
      onKeyDown={(e) => {
        if (e.key === "Escape" && (mode === "menu" || mode === "confirming")) {
          e.stopPropagation();
          close(true);
        }
      }}
    >
      {mode === "renaming" ? (
        <RenameInput
          title={item.title}
          onDone={(title, viaKeyboard) => {
            close(viaKeyboard);
            if (title !== null && title !== item.title) onRename(title);
          }}
        />
      ) : (
        <Link href={`/c/${item.id}`} onClick={onOpen} title={item.title} aria-current={active ? "page" : undefined}>
          {item.title}
        </Link>
      )}
      {mode !== "renaming" && (
        <button
          ref={menuButton}
          type="button"
          className="conversation-menu-button"
          aria-label={`Actions for ${item.title}`}
          aria-expanded={mode === "menu" || mode === "confirming"}
          aria-controls={actionsId}
          onClick={() => setMode(mode === "view" ? "menu" : "view")}
        >
          ⋯
        </button>
      )}
      <div id={actionsId} className="conversation-actions" hidden={mode !== "menu" && mode !== "confirming"}>
        {mode === "confirming" ? (
          <>
            <span>Delete?</span>
            <button type="button" className="link-button danger" onClick={onDelete}>
              Yes, delete
            </button>
            <button type="button" className="link-button" onClick={() => close(true)}>
              No
            </button>
          </>
        ) : (
          <>
            <button type="button" className="link-button" aria-label={`Rename ${item.title}`} onClick={() => setMode("renaming")}>
              Rename
            </button>
            <button type="button" className="link-button danger" aria-label={`Delete ${item.title}`} onClick={() => setMode("confirming")}>
              Delete
            </button>
          </>
        )}
      </div>
    </li>
  );
}

/** The title field; calls `onDone` once: the new title (Enter, blur) or null (Esc, or left empty). */
function RenameInput({ title, onDone }: { title: string; onDone: (title: string | null, viaKeyboard: boolean) => void }) {
  const done = useRef(false);
  const input = useRef<HTMLInputElement>(null);
  // Focused with the old title selected, so typing replaces it.
  useEffect(() => {
    input.current?.focus();
    input.current?.select();
  }, []);
  const finish = (value: string | null, viaKeyboard: boolean) => {
    if (done.current) return;
    done.current = true;
    onDone(value?.trim() || null, viaKeyboard);
  };
  return (
    <form
      className="rename-form"
      onSubmit={(e) => {
        e.preventDefault();
        finish(String(new FormData(e.currentTarget).get("title") ?? ""), true);
      }}
    >
      <input
        name="title"
        className="rename-input"
        aria-label="New title"
        ref={input}
        defaultValue={title}
        maxLength={200}
        onKeyDown={(e) => {
          if (e.key !== "Escape") return;
          // Esc here cancels the rename only (it must not also stop an answer or close the sidebar).
          e.preventDefault();
          e.stopPropagation();
          finish(null, true);
        }}
        onBlur={(e) => finish(e.currentTarget.value, false)}
      />
    </form>
  );
}
