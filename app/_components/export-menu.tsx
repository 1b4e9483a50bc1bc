"use client";

import { useEffect, useId, useRef, useState } from "react";
import "./export.css";

/**
 * "Export" menu button for one conversation: JSON (everything, to import
 * later) or Markdown (the shown branch, readable, with its images) as a
 * zip. Renders nothing while `show` is false (a new chat: the conversation
 * is created with its first message, so `conversation.current` is read when
 * the menu opens, never during render). Keyboard: Enter,
 * Space or ↓ opens it on the first item, ↑/↓/Home/End move, Esc closes
 * and returns focus to the button, Tab leaves it.
 */
export function ExportMenu({ conversation, show }: { conversation: { readonly current: string | null }; show: boolean }) {
  /** The conversation the open menu exports; null while closed. */
  const [openFor, setOpenFor] = useState<string | null>(null);
  const open = openFor !== null;
  const buttonRef = useRef<HTMLButtonElement>(null);
  const menuRef = useRef<HTMLUListElement>(null);
  const menuId = useId();

  const items = () => [...(menuRef.current?.querySelectorAll<HTMLAnchorElement>('[role="menuitem"]') ?? [])];

  useEffect(() => {
    if (!open) return;
    items()[0]?.focus();
    const onPointer = (e: PointerEvent) => {
      const target = e.target as Node;
      if (!menuRef.current?.contains(target) && !buttonRef.current?.contains(target)) setOpenFor(null);
    };
    document.addEventListener("pointerdown", onPointer);
    return () => document.removeEventListener("pointerdown", onPointer);
  }, [open]);

  if (!show) return null;
  const base = `/api/conversations/${encodeURIComponent(openFor ?? "")}/export`;
  // Opening with no conversation yet (not expected while shown) leaves the menu closed.
  const setOpen = (value: boolean) => setOpenFor(value ? conversation.current : null);

  function close({ focusButton }: { focusButton: boolean }) {
    setOpen(false);
    if (focusButton) buttonRef.current?.focus();
  }

  function onMenuKey(e: React.KeyboardEvent) {
    const all = items();
    const at = all.indexOf(document.activeElement as HTMLAnchorElement);
    const move = (i: number) => {
      e.preventDefault();
      all[(i + all.length) % all.length]?.focus();
    };
    if (e.key === "ArrowDown") move(at + 1);
    else if (e.key === "ArrowUp") move(at - 1);
    else if (e.key === "Home") move(0);
    else if (e.key === "End") move(all.length - 1);
    else if (e.key === "Escape") {
      // Esc here closes the menu only (the chat also uses Esc to stop an answer).
      e.preventDefault();
      e.nativeEvent.stopImmediatePropagation();
      close({ focusButton: true });
    } else if (e.key === "Tab") {
      // Back on the button first, so Tab's own move continues from there.
      close({ focusButton: true });
    }
  }

  return (
    <div className="export-menu">
      <button
        ref={buttonRef}
        type="button"
        className="button export-menu-button"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        onClick={() => setOpen(!open)}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown" || e.key === "ArrowUp") {
            e.preventDefault();
            setOpen(true);
          }
        }}
      >
        Export
      </button>
      {open && (
        <ul ref={menuRef} id={menuId} role="menu" aria-label="Export this conversation" className="export-menu-list" onKeyDown={onMenuKey}>
          <li role="none">
            <a role="menuitem" className="export-menu-item" href={`${base}?format=json`} download onClick={() => close({ focusButton: true })}>
              Export as JSON
              <span className="export-menu-hint">Every branch and image; can be imported again</span>
            </a>
          </li>
          <li role="none">
            <a role="menuitem" className="export-menu-item" href={`${base}?format=markdown`} download onClick={() => close({ focusButton: true })}>
              Export as Markdown (zip)
              <span className="export-menu-hint">The conversation as shown, images beside it</span>
            </a>
          </li>
        </ul>
      )}
    </div>
  );
}
