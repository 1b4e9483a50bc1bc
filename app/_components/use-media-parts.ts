"use client";

import { useEffect, useState } from "react";
import type { MediaInfo } from "@/lib/media/types";

export interface MediaParts {
  id: string;
  mediaType: string;
  info: MediaInfo;
  parts: { id: string; url: string; label: string; time: number | null; page: number | null }[];
}

/** What the server read from an upload (GET /api/uploads/:id/parts); null while loading or for an image. */
export function useMediaParts(url: string, enabled: boolean): { parts: MediaParts | null; failed: boolean } {
  const [state, setState] = useState<{ parts: MediaParts | null; failed: boolean }>({ parts: null, failed: false });
  useEffect(() => {
    if (!enabled) return;
    let live = true;
    fetch(`${url}/parts`)
      .then(async (res) => (res.ok ? ((await res.json()) as MediaParts) : Promise.reject(new Error(String(res.status)))))
      .then((parts) => live && setState({ parts, failed: false }))
      .catch(() => live && setState({ parts: null, failed: true }));
    return () => {
      live = false;
    };
  }, [url, enabled]);
  return state;
}
