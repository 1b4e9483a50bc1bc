import { describe, expect, it } from "vitest";
import { cleanGeneratedTitle, MAX_TITLE_CHARS, titleFrom } from "@/lib/chat/title";

describe("cleanGeneratedTitle", () => {
  it.each([
    ["Red circle on white", "Red circle on white"],
    ['"Red circle on white."', "Red circle on white"],
    ["Title: The blue square!\nMore text the model went on with", "The blue square"],
    ["\n\n  **Shapes and colours**  \n", "Shapes and colours"],
    ["“Counting shapes”…", "Counting shapes"],
    ["# A heading title", "A heading title"],
    ["1. First idea", "First idea"],
    ["  many    spaces   here ", "many spaces here"],
  ])("%j → %j", (raw, title) => {
    expect(cleanGeneratedTitle(raw)).toBe(title);
  });

  it("is empty when nothing usable is left", () => {
    for (const raw of ["", "   \n \n", '""', "...", "Title:", "**"]) expect(cleanGeneratedTitle(raw)).toBe("");
  });

  it("is empty when the model declined or spoke of itself instead (the first-question title stays)", () => {
    for (const raw of [
      "I only know simple shapes and colours.",
      "I'm sorry, but I can't help with that",
      "Sorry, I cannot do that.",
      "As an AI language model, I don't have titles",
      "\"I am not able to write titles\"",
      "Unfortunately there is no conversation",
      "I can only describe shapes",
      "I'd rather not guess",
      "My apologies, I cannot title this",
      "As a language model I cannot",
      "Please attach an image and ask about it.",
    ]) {
      expect(cleanGeneratedTitle(raw)).toBe("");
    }
    // Titles that merely contain such words are kept.
    expect(cleanGeneratedTitle("Image of a red circle")).toBe("Image of a red circle");
    expect(cleanGeneratedTitle("Ideas for a party")).toBe("Ideas for a party");
    expect(cleanGeneratedTitle("iPhone battery questions")).toBe("iPhone battery questions");
    expect(cleanGeneratedTitle("I/O scheduling on Linux")).toBe("I/O scheduling on Linux");
    expect(cleanGeneratedTitle("Please Please Me album review")).toBe("Please Please Me album review");
    for (const title of ["I Love Lucy episodes", "I Ching reading", "I Spy game ideas", "I Am Legend ending"]) {
      expect(cleanGeneratedTitle(title)).toBe(title);
    }
  });

  it("cuts a long line at a word, within the limit", () => {
    const title = cleanGeneratedTitle("A very long title about a red circle and a blue square and a green triangle on a grey background");
    expect(title.length).toBeLessThanOrEqual(MAX_TITLE_CHARS);
    expect(title).toBe("A very long title about a red circle and a blue square and…");
  });
});

describe("titleFrom", () => {
  it("names a conversation after the first line of its first question", () => {
    expect(titleFrom([{ type: "text", text: "What colour is it?\nand more" }], "Red.")).toBe("What colour is it?");
  });

  it("uses the answer for an image-only question, within the limit", () => {
    const title = titleFrom([{ type: "image", attachmentId: "a" }], "There is a big red circle in the middle of a picture with a white background and a frame");
    expect(title.startsWith("Image: There is a big red circle")).toBe(true);
    expect(title.length).toBeLessThanOrEqual(MAX_TITLE_CHARS);
  });
});
