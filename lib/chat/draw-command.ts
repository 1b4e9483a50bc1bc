/** The composer's shortcut for a generation turn: "/draw a red circle" asks for an image of "a red circle". */
const DRAW = /^\s*\/draw(?:\s+|$)/i;

/**
 * The prompt of a message written as "/draw <prompt>", or null when the message is not one.
 * An empty prompt ("/draw" alone) is "" (the caller says what is missing).
 */
export function drawPrompt(text: string): string | null {
  const m = DRAW.exec(text);
  return m ? text.slice(m[0].length).trim() : null;
}
