"use client";

import Link from "next/link";
import { useEffect, useId, useRef, useState } from "react";
import type { ConversationItem as Item } from "./use-conversations";

/** The drag data type of a conversation dragged onto a folder (its id). */
export const CONVERSATION_DRAG_TYPE = "application/x-lvc-conversation";

/**
 * One conversation in the sidebar: its link (draggable onto a folder), and a
 * "⋯" button (always shown on touch screens, on hover or focus with a mouse)
 * that opens Rename, Pin, Move to folder… (the keyboard's way to file it),
 * Archive and Delete. Renaming: Enter or leaving the field saves, Esc cancels.
 */
export function ConversationItem({
  item,
  active,
  folders = [],
  onOpen,
  onRename,
  onDelete,
  onPin,
  onMove,
  onArchive,
  focusMenu = false,
  onMenuFocused,
}: {
  item: Item;
  active: boolean;
  /** Puts the keyboard's focus on this row's ⋯ button (after the row moved to another section through its menu). */
  focusMenu?: boolean;
  onMenuFocused?: () => void;
  /** The folders it can be moved to. */
  folders?: { id: string; name: string }[];
  /** Called when the link is followed (the phone sidebar closes). */
  onOpen: () => void;
  onRename: (title: string) => void;
  onDelete: () => void;
  onPin?: (pinned: boolean) => void;
  /** Files it in a folder; null = back to the top level. */
  onMove?: (folderId: string | null) => void;
  onArchive?: (archived: boolean) => void;
}) {
  const [mode, setMode] = useState<"view" | "menu" | "renaming" | "confirming" | "moving">("view");
  const menuButton = useRef<HTMLButtonElement>(null);
  const actionsId = useId();
  useEffect(() => {
    if (!focusMenu) return;
    menuButton.current?.focus();
    onMenuFocused?.();
  }, [focusMenu, onMenuFocused]);

  /** Back to the plain row; with `focus`, the keyboard user lands on the ⋯ button again. */
  function close(focus: boolean) {
    setMode("view");
    if (focus) requestAnimationFrame(() => menuButton.current?.focus());
  }

  return (
    <li
      className={`conversation-item${active ? " active" : ""}${mode !== "view" ? " conversation-item-open" : ""}`}
      draggable={onMove !== undefined && mode === "view"}
      onDragStart={(e) => {
        e.dataTransfer.setData(CONVERSATION_DRAG_TYPE, item.id);
        e.dataTransfer.effectAllowed = "move";
      }}
      onKeyDown={(e) => {
        if (e.key === "Escape" && (mode === "menu" || mode === "confirming" || mode === "moving")) {
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
          {item.pinnedAt && (
            // The list it is in is called "Pinned".
            <svg className="conversation-pin" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
              <path fill="currentColor" d="M10.5 1.5 14.5 5.5 13.4 6.6 12.6 6.2 9.9 8.9 10.3 12.2 9.2 13.3 6.4 10.5 2.7 14.2 1.8 13.3 5.5 9.6 2.7 6.8 3.8 5.7 7.1 6.1 9.8 3.4 9.4 2.6Z" />
            </svg>
          )}
          {item.title}
          {item.archivedAt && <span className="badge conversation-badge">Archived</span>}
        </Link>
      )}
      {mode !== "renaming" && (
        <button
          ref={menuButton}
          type="button"
          className="conversation-menu-button"
          aria-label={`Actions for ${item.title}`}
          aria-expanded={mode === "menu" || mode === "confirming" || mode === "moving"}
          aria-controls={actionsId}
          onClick={() => setMode(mode === "view" ? "menu" : "view")}
        >
          ⋯
        </button>
      )}
      <div id={actionsId} className="conversation-actions" hidden={mode !== "menu" && mode !== "confirming" && mode !== "moving"}>
        {mode === "moving" ? (
          <MoveChoices
            title={item.title}
            folderId={item.folderId ?? null}
            folders={folders}
            onChoose={(folderId) => {
              close(true);
              onMove?.(folderId);
            }}
            onCancel={() => close(true)}
          />
        ) : mode === "confirming" ? (
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
            {onPin && !item.archivedAt && (
              <button
                type="button"
                className="link-button"
                aria-label={`${item.pinnedAt ? "Unpin" : "Pin"} ${item.title}`}
                onClick={() => {
                  close(false);
                  onPin(!item.pinnedAt);
                }}
              >
                {item.pinnedAt ? "Unpin" : "Pin"}
              </button>
            )}
            {onMove && !item.archivedAt && (
              <button type="button" className="link-button" aria-label={`Move to folder… for ${item.title}`} onClick={() => setMode("moving")}>
                Move to folder…
              </button>
            )}
            {onArchive && (
              <button
                type="button"
                className="link-button"
                aria-label={`${item.archivedAt ? "Unarchive" : "Archive"} ${item.title}`}
                onClick={() => {
                  close(false);
                  onArchive(!item.archivedAt);
                }}
              >
                {item.archivedAt ? "Unarchive" : "Archive"}
              </button>
            )}
            <button type="button" className="link-button danger" aria-label={`Delete ${item.title}`} onClick={() => setMode("confirming")}>
              Delete
            </button>
          </>
        )}
      </div>
    </li>
  );
}

/** "Move to folder…": one button per folder (focus starts on the first), the top level for a filed chat, and Cancel. */
function MoveChoices({
  title,
  folderId,
  folders,
  onChoose,
  onCancel,
}: {
  title: string;
  folderId: string | null;
  folders: { id: string; name: string }[];
  onChoose: (folderId: string | null) => void;
  onCancel: () => void;
}) {
  const first = useRef<HTMLButtonElement>(null);
  useEffect(() => first.current?.focus(), []);
  const targets = folders.filter((f) => f.id !== folderId);
  return (
    <div className="move-choices" role="group" aria-label={`Move ${title} to`}>
      <span>Move to:</span>
      {targets.length === 0 && folderId === null && <span className="muted">No folders yet: make one with “New folder”.</span>}
      {targets.map((f, i) => (
        <button key={f.id} ref={i === 0 ? first : undefined} type="button" className="link-button" onClick={() => onChoose(f.id)}>
          {f.name}
        </button>
      ))}
      {folderId !== null && (
        <button ref={targets.length === 0 ? first : undefined} type="button" className="link-button" onClick={() => onChoose(null)}>
          Top level (no folder)
        </button>
      )}
      <button ref={targets.length === 0 && folderId === null ? first : undefined} type="button" className="link-button" onClick={onCancel}>
        Cancel
      </button>
    </div>
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
