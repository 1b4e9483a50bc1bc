import type { MessagePart } from "./message-parts";

/**
 * A short title from the first question (first line, cut at a word, at most
 * 60 characters); for an image-only question, from the start of the answer.
 */
export function titleFrom(question: MessagePart[], answer: string): string {
  const text = question.flatMap((p) => (p.type === "text" ? [p.text] : [])).join(" ");
  const source = text.trim() || (answer.trim() ? `Image: ${answer.trim()}` : "Image conversation");
  const line = source.split("\n")[0]!.replace(/\s+/g, " ").trim();
  if (line.length <= 60) return line;
  const cut = line.slice(0, 60);
  return `${cut.slice(0, cut.lastIndexOf(" ") > 30 ? cut.lastIndexOf(" ") : 60).trimEnd()}…`;
}
