import type { MessagePart } from "./message-parts";

/** Longest title shown, in characters. */
export const MAX_TITLE_CHARS = 60;

/**
 * A short title from the first question (first line, cut at a word, at most
 * 60 characters); for an image-only question, from the start of the answer.
 */
export function titleFrom(question: MessagePart[], answer: string): string {
  const text = question.flatMap((p) => (p.type === "text" ? [p.text] : [])).join(" ");
  const source = text.trim() || (answer.trim() ? `Image: ${answer.trim()}` : "Image conversation");
  return shorten(source.split("\n")[0]!);
}

/**
 * The model talking about itself instead of naming the chat: a refusal, an
 * apology or a request ("I only know simple shapes and colours.", "Sorry, I
 * can't…", "As an AI…", "Please attach an image…"). A title never starts that way, and keeping the
 * first-question title is better than showing one of these in the sidebar.
 */
const NOT_A_TITLE =
  /^(?:i\s+(?:am\s+(?:sorry|unable|not|only|an?)|can(?:not|['’]t)?|could(?:n['’]t| not)|only|don['’]t|do not|apologi[sz]e|need|have no|must)\b|i['’](?:m|d|ve|ll)\b|sorry\b|(?:my )?apologies\b|unfortunately\b|as an ai\b|as a(?:n ai)? language model\b|please\s+(?:attach|provide|upload|share|send|give|describe)\b)/i;

/**
 * A title the model wrote, cleaned: its first non-empty line without a
 * "Title:" label, markdown marks, surrounding quotes or trailing
 * punctuation, at most 60 characters. Empty when nothing usable is left,
 * or when the model declined or spoke of itself (then the first-question
 * title stays).
 */
export function cleanGeneratedTitle(raw: string): string {
  const line = raw.split("\n").find((l) => l.trim()) ?? "";
  const cleaned = line
    .replace(/^\s*(?:#+|[-*•]|\d+[.)])\s+/, "")
    .replace(/^\s*title\s*:\s*/i, "")
    .replace(/[*_`]/g, "")
    .replace(/^[\s"'“”‘’«»]+/, "")
    .replace(/[\s"'“”‘’«».,;:!?…-]+$/, "");
  return cleaned && !NOT_A_TITLE.test(cleaned) ? shorten(cleaned) : "";
}

/** One line, spaces collapsed; a longer one is cut at a word and ends in "…", MAX_TITLE_CHARS in all. */
function shorten(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  if (line.length <= MAX_TITLE_CHARS) return line;
  const cut = line.slice(0, MAX_TITLE_CHARS - 1);
  const space = cut.lastIndexOf(" ");
  return `${cut.slice(0, space > 30 ? space : cut.length).trimEnd()}…`;
}
