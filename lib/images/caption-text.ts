/** The caption request; the phrasing the shipped model was trained on (real VLMs answer it with one sentence too). */
export const CAPTION_PROMPT = "Describe the image.";

/** The first sentence of a model's answer, whitespace collapsed, at most 200 characters. */
export function firstSentence(text: string): string {
  const t = text.replace(/\s+/g, " ").trim();
  const end = t.search(/[.!?](\s|$)/);
  return (end >= 0 ? t.slice(0, end + 1) : t).slice(0, 200);
}
