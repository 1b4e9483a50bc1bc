/**
 * Native code inside the server process (llama.cpp, libmtmd and the
 * @fugood/llama.node binding) prints straight to file descriptors 1 and 2
 * from C, where JavaScript cannot intercept it, and at info level that output
 * holds the whole prompt: system prompt, questions and answers. `npm start`
 * therefore reads the server's fds 1 and 2 itself (the app's own JavaScript
 * output goes out on other descriptors, see scripts/app-output.mjs) and keeps
 * only what this filter lets through: the first line of native warnings and
 * errors, which name a failure but never echo the prompt.
 *
 * Limits: a line of user text that itself looks exactly like a native error
 * line (say `[ERROR] f:1 …`) would pass; only that user's own text can get
 * there, and only into their own server's log.
 */

/** How much of one kept line is printed, in characters. */
const MAX_LINE = 300;

/** Functions whose messages quote prompt text, whatever their level. */
const QUOTES_PROMPT = new Set(["add_text"]);

const PATTERNS: RegExp[] = [
  // The binding's own log: `[ERROR] function:line message`.
  /^\[(ERROR|WARNING|WARN)\] \w+:\d+ /,
  // llama.cpp / ggml / mtmd: `function: error: …`, `function: warning: …`.
  /^(\w+): (error|warning|failed)\b/i,
  /^\S+:\d+: GGML_ASSERT\(/,
  /^terminate called /,
  /^\s+what\(\): /,
  // Node's own fatal errors are printed from C++ to fd 2 as well (out of memory, aborts).
  /^FATAL ERROR: /,
  /^#\s*Fatal error\b/,
];

/** The line as it may appear in the server log, or null to drop it. */
export function nativeLogLine(line: string): string | null {
  const trimmed = line.replace(/\r$/, "");
  if (!PATTERNS.some((p) => p.test(trimmed))) return null;
  const fn = /^(\w+):/.exec(trimmed)?.[1];
  if (fn && QUOTES_PROMPT.has(fn)) return null;
  return `[native] ${trimmed.length > MAX_LINE ? `${trimmed.slice(0, MAX_LINE)}…` : trimmed}`;
}
