"use client";

import { useEffect, useId, useRef, useState } from "react";
import { CONVERSATION_DRAG_TYPE } from "./conversation-item";

export interface FolderView {
  id: string;
  name: string;
  collapsed: boolean;
}

/**
 * One sidebar folder: a button that opens or closes it (remembered on the
 * account), a "⋯" menu with Rename and Delete (its chats go back to the top
 * level), and a drop target for chats dragged onto it. `children` are its
 * chats' rows.
 */
export function FolderItem({
  folder,
  count,
  more = false,
  onToggle,
  onRename,
  onDelete,
  onDropChat,
  children,
}: {
  folder: FolderView;
  count: number;
  /** It holds more chats than the sidebar was given (the oldest are left out). */
  more?: boolean;
  onToggle: () => void;
  onRename: (name: string) => void;
  onDelete: () => void;
  onDropChat: (conversationId: string) => void;
  children: React.ReactNode;
}) {
  const [mode, setMode] = useState<"view" | "menu" | "renaming" | "confirming">("view");
  const [over, setOver] = useState(false);
  const menuButton = useRef<HTMLButtonElement>(null);
  const id = useId();

  function close(focus: boolean) {
    setMode("view");
    if (focus) requestAnimationFrame(() => menuButton.current?.focus());
  }

  return (
    <li
      className={`folder${over ? " folder-drop" : ""}`}
      data-folder-id={folder.id}
      onDragOver={(e) => {
        if (!e.dataTransfer.types.includes(CONVERSATION_DRAG_TYPE)) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = "move";
        setOver(true);
      }}
      onDragLeave={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setOver(false);
      }}
      onDrop={(e) => {
        const chat = e.dataTransfer.getData(CONVERSATION_DRAG_TYPE);
        setOver(false);
        if (!chat) return;
        e.preventDefault();
        e.stopPropagation();
        onDropChat(chat);
      }}
      onKeyDown={(e) => {
        if (e.key === "Escape" && (mode === "menu" || mode === "confirming")) {
          e.stopPropagation();
          close(true);
        }
      }}
    >
      <div className="folder-header">
        {mode === "renaming" ? (
          <NameInput
            label="Folder name"
            value={folder.name}
            onDone={(name, viaKeyboard) => {
              close(viaKeyboard);
              if (name !== null && name !== folder.name) onRename(name);
            }}
          />
        ) : (
          <button type="button" className="folder-toggle" aria-expanded={!folder.collapsed} aria-controls={`${id}-chats`} onClick={onToggle}>
            <span className="folder-caret" aria-hidden="true">
              {folder.collapsed ? "▸" : "▾"}
            </span>
            <span className="folder-name">{folder.name}</span>
            <span className="folder-count muted small" aria-hidden="true">
              {count}
            </span>
            <span className="sr-only">, {count === 1 ? "1 chat" : `${count} chats`}</span>
          </button>
        )}
        {mode !== "renaming" && (
          <button
            ref={menuButton}
            type="button"
            className="conversation-menu-button"
            aria-label={`Actions for folder ${folder.name}`}
            aria-expanded={mode !== "view"}
            aria-controls={`${id}-actions`}
            onClick={() => setMode(mode === "view" ? "menu" : "view")}
          >
            ⋯
          </button>
        )}
      </div>
      <div id={`${id}-actions`} className="conversation-actions" hidden={mode !== "menu" && mode !== "confirming"}>
        {mode === "confirming" ? (
          <>
            <span>Delete the folder? Its chats stay, at the top level.</span>
            <button type="button" className="link-button danger" onClick={onDelete}>
              Yes, delete folder
            </button>
            <button type="button" className="link-button" onClick={() => close(true)}>
              No
            </button>
          </>
        ) : (
          <>
            <button type="button" className="link-button" aria-label={`Rename folder ${folder.name}`} onClick={() => setMode("renaming")}>
              Rename
            </button>
            <button type="button" className="link-button danger" aria-label={`Delete folder ${folder.name}`} onClick={() => setMode("confirming")}>
              Delete
            </button>
          </>
        )}
      </div>
      <ul id={`${id}-chats`} className="conversation-list folder-chats" aria-label={folder.name} hidden={folder.collapsed}>
        {count === 0 && <li className="muted small folder-empty">Empty: drag a chat here, or use its “Move to folder…”.</li>}
        {children}
        {more && <li className="muted small folder-empty">Older chats of this folder are not listed here: search finds them.</li>}
      </ul>
    </li>
  );
}

/** A name field (a new folder's, a rename): calls `onDone` once, with the name (Enter, blur) or null (Esc, or left empty). */
export function NameInput({ label, value, onDone }: { label: string; value: string; onDone: (name: string | null, viaKeyboard: boolean) => void }) {
  const done = useRef(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    input.current?.focus();
    input.current?.select();
  }, []);
  const finish = (name: string | null, viaKeyboard: boolean) => {
    if (done.current) return;
    done.current = true;
    onDone(name?.trim() || null, viaKeyboard);
  };
  return (
    <form
      className="rename-form"
      onSubmit={(e) => {
        e.preventDefault();
        finish(String(new FormData(e.currentTarget).get("name") ?? ""), true);
      }}
    >
      <input
        name="name"
        className="rename-input"
        aria-label={label}
        ref={input}
        defaultValue={value}
        maxLength={100}
        onKeyDown={(e) => {
          if (e.key !== "Escape") return;
          e.preventDefault();
          e.stopPropagation();
          finish(null, true);
        }}
        onBlur={(e) => finish(e.currentTarget.value, false)}
      />
    </form>
  );
}
