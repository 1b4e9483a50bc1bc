import { describe, expect, it } from "vitest";
import { activePath } from "@/lib/chat/tree";
import { archiveSchema, type ArchiveConversation, type ArchiveMessage } from "@/lib/archive/archive-schema";
import { contentDisposition, fileName } from "@/lib/archive/file-name";
import { renderMarkdown } from "@/lib/archive/render-markdown";

const SHA = "a".repeat(64);

let clock = 0;
const message = (id: string, parentId: string | null, position: number, role: ArchiveMessage["role"], parts: ArchiveMessage["parts"], extra: Partial<ArchiveMessage> = {}): ArchiveMessage => ({
  id,
  parentId,
  position,
  role,
  parts,
  status: "complete",
  error: null,
  finishReason: role === "assistant" ? "stop" : null,
  model: null,
  promptTokens: null,
  reusedTokens: null,
  completionTokens: null,
  ttftMs: null,
  tokensPerSecond: null,
  createdAt: new Date(Date.UTC(2026, 10, 27, 10, 0, clock++)).toISOString(),
  ...extra,
});

/** q1 → a1 (regenerated: a1b) → q2 (edited: q2b → a2b, the newest). */
function tree(activeLeafId: string | null): ArchiveConversation {
  clock = 0;
  return {
    id: "c1",
    title: "Shapes: the *red* one",
    titleByUser: false,
    model: "mini-llava-shapes",
    systemPrompt: "Be brief.\n\nAnswer in English.",
    settings: null,
    activeLeafId,
    createdAt: "2026-11-27T10:00:00.000Z",
    updatedAt: "2026-11-27T10:05:00.000Z",
    messages: [
      message("q1", null, 0, "user", [{ type: "image", sha256: SHA }, { type: "text", text: "What color is the circle?" }]),
      message("a1", "q1", 1, "assistant", [{ type: "text", text: "The circle is **red**." }]),
      message("a1b", "q1", 1, "assistant", [{ type: "text", text: "Red." }], { status: "stopped", error: "Stopped by the user." }),
      message("q2", "a1", 2, "user", [{ type: "text", text: "And the square?" }]),
      message("a2", "q2", 3, "assistant", [{ type: "text", text: "Blue." }]),
      message("q2b", "a1", 2, "user", [{ type: "text", text: "How many shapes?" }]),
      message("a2b", "q2b", 3, "assistant", [{ type: "text", text: "Two." }]),
    ],
  };
}

describe("activePath", () => {
  it("follows parents up from the active leaf, or from the newest message when none is set", () => {
    const ids = (c: ArchiveConversation) => activePath(c.messages, c.activeLeafId).map((m) => m.id);
    expect(ids(tree("a2"))).toEqual(["q1", "a1", "q2", "a2"]);
    expect(ids(tree("a1b"))).toEqual(["q1", "a1b"]);
    expect(ids(tree(null))).toEqual(["q1", "a1", "q2b", "a2b"]);
    expect(activePath([], null)).toEqual([]);
  });

});

describe("renderMarkdown", () => {
  it("renders the active branch with headings, the system prompt, image links and status notes", () => {
    const md = renderMarkdown(tree("a1b"), { imagePath: (sha) => `images/${sha}.png` });
    expect(md).toBe(
      [
        "# Shapes: the *red* one",
        "",
        "*Started 2026-11-27 · model `mini-llava-shapes`*",
        "",
        "> **System prompt**",
        ">",
        "> Be brief.",
        ">",
        "> Answer in English.",
        "",
        "## You",
        "",
        `![Image 1](images/${SHA}.png)`,
        "",
        "What color is the circle?",
        "",
        "## Assistant",
        "",
        "Red.",
        "",
        "*The answer was stopped before it was finished. Stopped by the user.*",
        "",
      ].join("\n"),
    );
  });

  it("leaves other branches out", () => {
    const md = renderMarkdown(tree("a2"), { imagePath: (sha) => `images/${sha}.png` });
    expect(md).toContain("And the square?");
    expect(md).toContain("Blue.");
    expect(md).not.toContain("How many shapes?");
    expect(md).not.toContain("Red.");
    expect(md.match(/^## /gm)).toHaveLength(4);
  });
});

describe("fileName", () => {
  it("makes a safe ASCII name from any title", () => {
    expect(fileName("Café: ../../etc/passwd?")).toBe("cafe-etc-passwd");
    expect(fileName("日本語")).toBe("conversation");
    expect(fileName('a"b\r\nContent-Type: x')).toBe("a-b-content-type-x");
    expect(fileName("x".repeat(100))).toHaveLength(60);
    expect(contentDisposition(`${fileName("Hello, world")}.json`)).toBe('attachment; filename="hello-world.json"');
    expect(() => contentDisposition('a"b')).toThrow();
  });
});

describe("archiveSchema", () => {
  const file = (conversation: ArchiveConversation, images = [{ sha256: SHA, mediaType: "image/png", width: 8, height: 8, data: "AAAA" }]) => ({
    format: "local-vision-chat",
    version: 1,
    exportedAt: "2026-11-27T11:00:00.000Z",
    conversations: [conversation],
    images,
  });

  it("accepts a whole tree", () => {
    expect(archiveSchema.safeParse(file(tree("a2"))).success).toBe(true);
  });

  it("refuses dangling parents, loops, unknown active leaves, missing images and attachment ids", () => {
    const bad = (mutate: (c: ArchiveConversation) => void, images?: Parameters<typeof file>[1]) => {
      const c = tree("a2");
      mutate(c);
      const result = archiveSchema.safeParse(file(c, images));
      expect(result.success).toBe(false);
      return result.error!.issues[0]!.message;
    };
    expect(bad((c) => (c.messages[1]!.parentId = "nope"))).toMatch(/same conversation/);
    expect(bad((c) => ((c.messages[0]!.parentId = "a2"), (c.messages[0]!.position = 4)))).toMatch(/loop/);
    expect(bad((c) => (c.activeLeafId = "elsewhere"))).toMatch(/same conversation/);
    expect(bad(() => {}, [])).toMatch(/no image with this SHA-256/);
    expect(bad((c) => (c.messages[0]!.parts = [{ type: "image", attachmentId: "someone-elses" } as never]))).toBeTruthy();
    expect(bad((c) => (c.messages[2]!.id = "a1"))).toMatch(/appears twice/);
  });
});
