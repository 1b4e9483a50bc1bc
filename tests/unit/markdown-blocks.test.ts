import { describe, expect, it } from "vitest";
import { markdownBlocks, settleMs } from "@/app/_components/markdown";

describe("markdown blocks of an answer being written", () => {
  it("splits at blank lines, and the blocks give back the text", () => {
    const text = "# Title\n\nA paragraph\non two lines.\n\n- one\n- two\n\nThe end, still being wr";
    const blocks = markdownBlocks(text);
    expect(blocks).toEqual(["# Title\n", "A paragraph\non two lines.\n\n- one\n- two\n", "The end, still being wr"]);
  });

  it("keeps a list whole, with blank lines between its items or before an item's next paragraph", () => {
    const list = "1. First\n\n2. Second\n\n   more about the second\n\n    indented code in it\n\n- another list";
    expect(markdownBlocks(`${list}\n\nAfter.`)).toEqual([`${list}\n`, "After."]);
  });

  it("waits for the line after a blank line before it splits there", () => {
    expect(markdownBlocks("One.\n\n")).toEqual(["One.\n\n"]);
    expect(markdownBlocks("One.\n\n  ")).toEqual(["One.\n\n  "]);
    expect(markdownBlocks("One.\r\n\r\nTwo.")).toEqual(["One.\r\n", "Two."]);
  });

  it("never splits inside a fenced code block, with backticks or tildes, closed or still open", () => {
    const code = "```python\nx = 1\n\n\ny = 2\n```";
    expect(markdownBlocks(`Before.\n\n${code}\n\nAfter.`)).toEqual(["Before.\n", `${code}\n`, "After."]);
    const tilde = "~~~\na\n\n```\nstill code\n\n~~~";
    expect(markdownBlocks(`${tilde}\n\nx`)).toEqual([`${tilde}\n`, "x"]);
    // A shorter fence does not close a longer one.
    const long = "````\na\n```\n\nb\n````";
    expect(markdownBlocks(long)).toEqual([long]);
    // Still open: the rest is one block until its fence closes.
    expect(markdownBlocks("Intro.\n\n```js\nconst a = 1;\n\nconst b")).toEqual(["Intro.\n", "```js\nconst a = 1;\n\nconst b"]);
  });

  it("drops empty blocks (runs of blank lines, a leading blank line)", () => {
    expect(markdownBlocks("\n\na\n\n\n\nb\n\n")).toEqual(["a\n", "b\n\n"]);
    expect(markdownBlocks("")).toEqual([]);
  });

  it("lets a long growing block wait longer between renders, at most 0.8 s", () => {
    expect(settleMs("short")).toBe(0);
    expect(settleMs("x".repeat(2000))).toBe(50);
    expect(settleMs("x".repeat(20000))).toBe(500);
    expect(settleMs("x".repeat(200000))).toBe(800);
  });
});
