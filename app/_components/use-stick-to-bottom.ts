"use client";

import { useEffect, useRef, useState } from "react";

/**
 * Keeps the list scrolled to its end while it grows, unless the reader scrolled up.
 *
 * Put `bottomRef` on an element after the last message; `atBottom` says whether it is in view
 * (within 80 px), and `scrollToBottom` jumps back and sticks again.
 */
export function useStickToBottom(content: unknown) {
  const bottomRef = useRef<HTMLDivElement>(null);
  const [atBottom, setAtBottom] = useState(true);
  useEffect(() => {
    if (atBottom) bottomRef.current?.scrollIntoView({ block: "end" });
  }, [content, atBottom]);
  useEffect(() => {
    const el = bottomRef.current;
    if (!el) return;
    const observer = new IntersectionObserver(([entry]) => setAtBottom(entry!.isIntersecting), { rootMargin: "0px 0px 80px 0px" });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return { bottomRef, atBottom, scrollToBottom: () => setAtBottom(true) };
}
