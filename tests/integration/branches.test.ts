import { beforeAll, describe, expect, inject, it } from "vitest";
import { chat, newConversation, uploadFixture, userMessage } from "../helpers/chat";
import { TestClient } from "../helpers/client";

// Edits and regenerations make a tree of messages: the real server, SQLite
// and the demo model (in-process).

const baseUrl = inject("baseUrl");

interface UIMessage {
  id: string;
  role: "user" | "assistant";
  parts: { type: string; text?: string; url?: string }[];
  metadata?: { versions?: { ids: string[]; index: number }; stats?: { promptTokens: number; reusedTokens: number } };
}

const textOf = (m: UIMessage) => m.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("");

describe("branches: edit any question, regenerate any answer, switch versions", () => {
  const alice = new TestClient(baseUrl);
  const bob = new TestClient(baseUrl);
  beforeAll(async () => {
    await alice.newAccount();
    await bob.newAccount();
  });

  const shown = async (client: TestClient, id: string) =>
    ((await (await client.fetch(`/api/conversations/${id}/messages`)).json()) as { messages: UIMessage[] }).messages;
  const switchTo = (client: TestClient, id: string, messageId: string) =>
    client.fetch(`/api/conversations/${id}/branch`, { method: "POST", json: { messageId } });

  it("editing an earlier question starts a branch; the old one stays, and switching back reuses its cached state", async () => {
    const id = await newConversation(alice);
    const image = await uploadFixture(alice, "red-circle.png", "image/png");
    await chat(alice, { id, message: userMessage("What color is the circle?", [image]) });
    await chat(alice, { id, message: userMessage("What shape is red?") });
    const original = await shown(alice, id);
    expect(original.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"]);

    // Edit the second question: a new version of it, with its own answer.
    const edited = await chat(alice, { id, messageId: original[2]!.id, message: userMessage("How many shapes are there?") });
    expect(edited.text).toBe("There is 1 shape.");
    const branch = await shown(alice, id);
    expect(branch.map(textOf)).toEqual([textOf(original[0]!), textOf(original[1]!), "How many shapes are there?", "There is 1 shape."]);
    expect(branch[2]!.metadata?.versions).toEqual({ ids: [original[2]!.id, branch[2]!.id], index: 1 });
    // Earlier messages are shared, not copied.
    expect(branch[0]!.id).toBe(original[0]!.id);

    // Back to the first version: the whole original branch, down to its answer.
    const res = await switchTo(alice, id, original[2]!.id);
    expect(res.status).toBe(200);
    const back = ((await res.json()) as { messages: UIMessage[] }).messages;
    expect(back.map((m) => m.id)).toEqual(original.map((m) => m.id));
    expect(back[2]!.metadata?.versions?.index).toBe(0);
    // The choice is saved: a reload shows the same branch.
    expect((await shown(alice, id)).map((m) => m.id)).toEqual(original.map((m) => m.id));

    // Continuing it starts from that branch's cached state: its whole earlier prompt is reused, image included.
    const before = original[3]!.metadata!.stats!;
    await chat(alice, { id, message: userMessage("What color is the circle?") });
    const next = await shown(alice, id);
    expect(next.slice(0, 4).map((m) => m.id)).toEqual(original.map((m) => m.id));
    expect(textOf(next[5]!)).toMatch(/red/);
    expect(next[5]!.metadata!.stats!.reusedTokens).toBeGreaterThanOrEqual(before.promptTokens);
  });

  it("regenerate keeps every earlier answer as a version", async () => {
    const id = await newConversation(alice);
    const image = await uploadFixture(alice, "red-circle.png", "image/png");
    await chat(alice, { id, message: userMessage("What color is the circle?", [image]) });
    const first = await shown(alice, id);
    await chat(alice, { id, trigger: "regenerate-message", messageId: first[1]!.id });
    await chat(alice, { id, trigger: "regenerate-message" });
    const now = await shown(alice, id);
    expect(now).toHaveLength(2);
    expect(now[1]!.metadata?.versions?.ids).toHaveLength(3);
    expect(now[1]!.metadata?.versions?.ids[0]).toBe(first[1]!.id);
    expect(now[1]!.metadata?.versions?.index).toBe(2);
    const old = await switchTo(alice, id, first[1]!.id);
    expect(((await old.json()) as { messages: UIMessage[] }).messages[1]!.id).toBe(first[1]!.id);
  });

  it("another user can neither see, switch nor edit the branches", async () => {
    const id = await newConversation(alice);
    await chat(alice, { id, message: userMessage("How many shapes are there?") });
    const mine = await shown(alice, id);
    expect((await bob.fetch(`/api/conversations/${id}/messages`)).status).toBe(404);
    expect((await switchTo(bob, id, mine[0]!.id)).status).toBe(404);
    const bobs = await newConversation(bob);
    // Someone else's message id, in one's own conversation, is not found either.
    expect((await switchTo(bob, bobs, mine[0]!.id)).status).toBe(404);
    expect((await chat(bob, { id: bobs, messageId: mine[0]!.id, message: userMessage("hi") })).status).toBe(404);
    expect((await chat(bob, { id: bobs, trigger: "regenerate-message", messageId: mine[1]!.id })).status).toBe(404);
    expect(await shown(alice, id)).toEqual(mine);
  });
});

describe("two tabs on one conversation", () => {
  const carol = new TestClient(baseUrl);
  beforeAll(async () => {
    await carol.newAccount();
  });

  it("a new question follows the answer its page shows, even after another tab switched branch", async () => {
    const id = await newConversation(carol);
    await chat(carol, { id, message: userMessage("How many shapes are there?") });
    const first = ((await (await carol.fetch(`/api/conversations/${id}/messages`)).json()) as { messages: UIMessage[] }).messages;
    await chat(carol, { id, trigger: "regenerate-message", messageId: first[1]!.id });
    const shownInA = ((await (await carol.fetch(`/api/conversations/${id}/messages`)).json()) as { messages: UIMessage[] }).messages;
    // Tab B goes back to the first answer; tab A still shows the second and asks after it.
    await carol.fetch(`/api/conversations/${id}/branch`, { method: "POST", json: { messageId: first[1]!.id } });
    await chat(carol, { id, parentId: shownInA[1]!.id, message: userMessage("What color is the circle?") });
    const now = ((await (await carol.fetch(`/api/conversations/${id}/messages`)).json()) as { messages: UIMessage[] }).messages;
    expect(now.map((m) => m.id).slice(0, 2)).toEqual([shownInA[0]!.id, shownInA[1]!.id]);
    expect(now).toHaveLength(4);
  });
});
