"use client";

import { useEffect, useRef, useState } from "react";

/**
 * A send that could not reach the server, held until it is back.
 *
 * While offline the server's health is polled every 2 s; once it answers, `resend` runs with what
 * the composer holds then (the held draft, with any change made meanwhile).
 */
export function useOfflineResend(resend: () => Promise<void>) {
  const [offline, setOffline] = useState(false);
  /** A send is waiting for the server to come back. */
  const held = useRef(false);
  const resendRef = useRef(resend);
  useEffect(() => {
    resendRef.current = resend;
  });

  useEffect(() => {
    if (!offline) return;
    let alive = true;
    const timer = setInterval(async () => {
      const res = await fetch("/api/health", { cache: "no-store" }).catch(() => null);
      if (!alive || !res?.ok) return;
      clearInterval(timer);
      setOffline(false);
      if (held.current) void resendRef.current();
      held.current = false;
    }, 2000);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, [offline]);

  /** Marks the composer's content as waiting for the server, and says so. */
  function hold() {
    held.current = true;
    setOffline(true);
  }

  return { offline, hold };
}
