"use client";

import { usePathname } from "next/navigation";
import { useState, type ComponentProps } from "react";
import { ChatView } from "./chat-view";

/**
 * The chat view of `/`, started afresh on every visit. A new chat's first message moves the
 * address to /c/:id with history.replaceState (a navigation would cut the answer), so Next still
 * shows this page: "+ New chat" back to `/` renders the same page again and would keep that
 * conversation on screen. The path, which follows replaceState, says when to start over.
 */
export function NewChatView(props: ComponentProps<typeof ChatView>) {
  const pathname = usePathname();
  const [visit, setVisit] = useState(0);
  const [shownPath, setShownPath] = useState(pathname);
  if (shownPath !== pathname) {
    setShownPath(pathname);
    if (pathname === "/") setVisit(visit + 1);
  }
  return <ChatView key={visit} {...props} />;
}
