"use client";

import { Fragment, memo, useEffect, useMemo, useRef, useState } from "react";
import ReactMarkdown from "react-markdown";
import rehypeHighlight from "rehype-highlight";
import rehypeSanitize, { defaultSchema } from "rehype-sanitize";
import remarkGfm from "remark-gfm";

// Sanitise first (raw HTML is never rendered: react-markdown drops it, and
// the schema strips anything dangerous), then highlight code blocks.
const schema = {
  ...defaultSchema,
  attributes: { ...defaultSchema.attributes, code: [...(defaultSchema.attributes?.code ?? []), ["className", /^language-./]] },
};

const MarkdownBlock = memo(function MarkdownBlock({ text }: { text: string }) {
  return (
    <ReactMarkdown remarkPlugins={[remarkGfm]} rehypePlugins={[[rehypeSanitize, schema], rehypeHighlight]}>
      {text}
    </ReactMarkdown>
  );
});

/**
 * Splits markdown into blocks that render alone as they do in the whole text:
 * the blocks of an answer being written, of which only the last still changes.
 * It splits at a blank line outside fenced code, and only once the next line
 * has arrived and starts at the margin and is no list item: a blank line
 * before an indented line (a list item's next paragraph, indented code or an
 * indented fence) or before the next item of a list does not end the block.
 * (A split can still differ from the whole where one block refers to another,
 * a footnote or a reference link: the finished answer is rendered whole.)
 */
export function markdownBlocks(text: string): string[] {
  const blocks: string[] = [];
  let fence: string | null = null;
  let start = 0;
  let offset = 0;
  /** Where the block before the blank lines ends, while the line after them is awaited. */
  let pending: number | null = null;
  for (const line of text.split("\n")) {
    const end = offset + line.length + 1;
    const blank = line.trim() === "";
    if (fence === null && blank) {
      if (offset > start) pending ??= offset;
    } else {
      if (fence === null && pending !== null && /^[^\s]/.test(line) && !/^([-*+]|\d{1,9}[.)])(\s|$)/.test(line)) {
        blocks.push(text.slice(start, pending));
        start = offset;
      }
      pending = null;
      const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
      if (marker && (fence === null || (marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker))) {
        fence = fence === null ? marker : null;
      }
    }
    offset = end;
  }
  if (start < text.length) blocks.push(text.slice(start));
  return blocks.filter((b) => b.trim() !== "");
}

/**
 * How long the growing block may wait between renders while an answer
 * streams: re-rendering it costs in proportion to its length (it is parsed
 * again each time), so a long one is shown a few times a second instead of
 * twenty, and the tab does not spend a core on it.
 */
export const settleMs = (block: string) => Math.min(800, Math.floor(block.length / 40));

/** The text to show: all of it when not streaming; while streaming, the last block at most every settleMs of its length. */
function useSettledText(text: string, streaming: boolean): string {
  const [shown, setShown] = useState(text);
  const shownAt = useRef(0);
  useEffect(() => {
    if (text === shown) return;
    // Only a text that grows what is shown waits. Not streaming, nothing shown yet, or a text that
    // replaces what is shown (a reload joining the answer replays it from the start): at once, so a
    // page never sits blank or stale (kept here when not streaming too, so that a Continue does not
    // start from an older text).
    const grows = streaming && shown !== "" && text.startsWith(shown);
    const wait = !grows ? 0 : shownAt.current + settleMs(markdownBlocks(text).at(-1) ?? "") - performance.now();
    const show = () => {
      shownAt.current = performance.now();
      setShown(text);
    };
    if (wait <= 0) return show();
    // A newer text cancels this timer and sets its own for what is left of the wait.
    const timer = setTimeout(show, wait);
    return () => clearTimeout(timer);
  }, [text, shown, streaming]);
  return streaming ? shown : text;
}

export function Markdown({ text, streaming = false }: { text: string; streaming?: boolean }) {
  const shown = useSettledText(text, streaming);
  // Split once per text shown, not on every render (each new token renders this while the shown text waits).
  const blocks = useMemo(() => (streaming ? markdownBlocks(shown) : null), [shown, streaming]);
  return (
    <div className="markdown">
      {blocks ? (
        // A line break between blocks, as react-markdown puts between a whole text's blocks: the
        // page's text reads the same while streaming and after.
        blocks.map((block, i) => (
          <Fragment key={i}>
            {i > 0 && "\n"}
            <MarkdownBlock text={block} />
          </Fragment>
        ))
      ) : (
        <MarkdownBlock text={shown} />
      )}
    </div>
  );
}
