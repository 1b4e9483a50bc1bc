import { activePath } from "@/lib/chat/tree";
import type { ArchiveConversation, ArchiveMessage } from "./archive-schema";

const SPEAKER: Record<ArchiveMessage["role"], string> = { user: "You", assistant: "Assistant", system: "System" };

const STATUS_NOTE: Partial<Record<ArchiveMessage["status"], string>> = {
  stopped: "The answer was stopped before it was finished.",
  error: "The answer failed.",
  streaming: "The answer was still being written when this was exported.",
};

/**
 * The branch the user was looking at as readable Markdown: a title, the
 * system prompt as a quote, then each message under a "You" / "Assistant"
 * heading with its images as links to `imagePath(sha256)` (relative files
 * beside the .md). Other branches are left out; the JSON export keeps them.
 */
export function renderMarkdown(conversation: ArchiveConversation, { imagePath }: { imagePath: (sha256: string) => string }): string {
  const out: string[] = [`# ${oneLine(conversation.title) || "Conversation"}`, ""];
  const facts = [`Started ${day(conversation.createdAt)}`, conversation.model && `model \`${conversation.model}\``].filter(Boolean);
  out.push(`*${facts.join(" · ")}*`, "");
  if (conversation.systemPrompt) out.push("> **System prompt**", ">", ...conversation.systemPrompt.split("\n").map((l) => (l ? `> ${l}` : ">")), "");
  for (const message of activePath(conversation.messages, conversation.activeLeafId)) {
    out.push(`## ${SPEAKER[message.role]}`, "");
    let image = 0;
    for (const part of message.parts) {
      if (part.type === "image") out.push(`![Image ${++image}](${imagePath(part.sha256)})`, "");
      else if (part.text.trim()) out.push(part.text.trim(), "");
    }
    const note = STATUS_NOTE[message.status];
    if (note) out.push(`*${note}${message.error ? ` ${oneLine(message.error)}` : ""}*`, "");
  }
  return `${out.join("\n").trimEnd()}\n`;
}

const oneLine = (s: string) => s.replace(/\s+/g, " ").trim();
const day = (iso: string) => iso.slice(0, 10);
