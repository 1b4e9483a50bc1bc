"use client";

import type { RefObject } from "react";
import type { SamplingSettings } from "@/lib/chat/settings";
import type { ChatUIMessage } from "@/lib/chat/ui-message";
import { ChatSettings } from "./chat-settings";
import { ExportMenu } from "./export-menu";
import { ModelPicker, ModelStatus, type useModelHealth } from "./model-status";

/** The chat's header: the model and its badges, the context used, this chat's settings and export. */
export function ChatHeader({
  health,
  conversation,
  messages,
  settings,
  onSettings,
  busy,
}: {
  health: ReturnType<typeof useModelHealth>;
  conversation: RefObject<string | null>;
  messages: ChatUIMessage[];
  settings: { systemPrompt: string | null; settings: SamplingSettings };
  onSettings: (value: { systemPrompt: string | null; settings: SamplingSettings }) => void;
  busy: boolean;
}) {
  const lastStats = messages.findLast((m) => m.role === "assistant" && m.metadata?.stats)?.metadata?.stats;
  const contextSize = health?.status === "ready" && typeof health.model === "object" ? health.backend?.contextSize : undefined;
  return (
    <header className="chat-header">
      <ModelStatus health={health} />
      <ModelPicker health={health} disabled={busy} />
      {lastStats && contextSize ? (
        <span className="context-use muted" title="Context used by the last answer (prompt and answer) of the model's window">
          {formatTokens(lastStats.promptTokens + lastStats.completionTokens)} / {formatTokens(contextSize)} tokens
        </span>
      ) : null}
      <ChatSettings conversationId={conversation} value={settings} onChange={onSettings} disabled={busy} />
      <ExportMenu conversation={conversation} show={messages.length > 0} />
    </header>
  );
}

/** 1234 → "1.2k"; powers of two stay round (4096 → "4k"). */
function formatTokens(n: number): string {
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024}k`;
  return n < 1000 ? String(n) : `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
}
