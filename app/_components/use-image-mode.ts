"use client";

import { useEffect, useState } from "react";
import type { ImageGeneratorStatus } from "@/lib/chat/image-generator-status";
import { IMAGE_LIMITS } from "@/lib/imagegen/limits";
import type { ImageOptions } from "./use-chat-turns";

/**
 * The composer's "Create image" mode: whether it is on, the size and steps asked for, and the
 * generator that would make the image (GET /api/chat/generator), or why there is none. Looked up
 * when the page opens and again when it comes back into view (a model installed meanwhile).
 */
export function useImageMode() {
  const [status, setStatus] = useState<ImageGeneratorStatus | null>(null);
  const [on, setOn] = useState(false);
  const [size, setSize] = useState<string | null>(null);
  const [steps, setSteps] = useState<number | null>(null);

  useEffect(() => {
    let live = true;
    const look = async () => {
      const res = await fetch("/api/chat/generator", { cache: "no-store" }).catch(() => null);
      const body = res?.ok ? ((await res.json().catch(() => null)) as ImageGeneratorStatus | null) : null;
      if (live && body) setStatus(body);
    };
    const onVisible = () => void (document.visibilityState === "visible" && look());
    void look();
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      live = false;
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, []);

  const found = status?.generator ?? null;
  // The steps offered are the generator's, within the app's cap (lib/imagegen/limits.ts).
  const generator = found && { ...found, maxSteps: Math.min(found.maxSteps, IMAGE_LIMITS.maxSteps) };
  // The sizes and steps offered are the generator's own: a choice it does not offer falls back to its default.
  const chosenSize = generator && size && generator.sizes.includes(size) ? size : (generator?.sizes[0] ?? null);
  const chosenSteps = generator ? Math.min(steps ?? generator.defaultSteps, generator.maxSteps) : null;
  return {
    status,
    generator,
    on: on && generator !== null,
    setOn,
    size: chosenSize,
    setSize,
    steps: chosenSteps,
    setSteps,
    /** What a generation turn asks for now. */
    options: (): ImageOptions => ({ size: chosenSize ?? undefined, steps: chosenSteps ?? undefined }),
  };
}

export type ImageMode = ReturnType<typeof useImageMode>;
