import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chat, newConversation, userMessage, type SavedMessage } from "../helpers/chat";
import { TestClient } from "../helpers/client";
import { startServer, type RunningServer } from "../helpers/server";

// Deleting a single message (issue 24, item 4): it goes with its branch (the
// messages below it); the other versions stay, and the branch shown moves to
// the nearest version, or to the parent. (Deleting an answer while it is
// written: resumable-answers.test.ts.)

type Page = { id: string; role: string; metadata?: { versions?: { ids: string[]; index: number } } };

describe("deleting a single message with its branch", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-delete-message-"));
  let server: RunningServer;
  let alice: TestClient;
  beforeAll(async () => {
    server = await startServer({ dataDir, env: { TRUST_PROXY: "true" } });
    alice = new TestClient(server.url);
    await alice.newAccount();
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const all = async (id: string) =>
    ((await (await alice.fetch(`/api/conversations/${id}`)).json()) as { conversation: { messages: SavedMessage[] } }).conversation.messages;
  const shown = async (id: string) => ((await (await alice.fetch(`/api/conversations/${id}/messages`)).json()) as { messages: Page[] }).messages;
  const remove = (client: TestClient, id: string, messageId: string) => client.fetch(`/api/conversations/${id}/messages/${messageId}`, { method: "DELETE" });

  it("removes the message and everything below it; the branch shown becomes its sibling, then its parent", async () => {
    const id = await newConversation(alice);
    await chat(alice, { id, message: userMessage("Hello") });
    const [q1, a1] = await shown(id);
    // A second version of the answer, and a follow-up question under it.
    await chat(alice, { id, trigger: "regenerate-message", messageId: a1!.id });
    let page = await shown(id);
    const a2 = page[1]!;
    expect(a2.metadata?.versions?.ids).toEqual([a1!.id, a2.id]);
    await chat(alice, { id, message: userMessage("And then?"), parentId: a2.id });
    page = await shown(id);
    expect(page.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"]);
    const [, , q2, a3] = page;

    // Deleting the second answer takes the follow-up with it; the first answer is shown again.
    const res = await remove(alice, id, a2.id);
    expect(res.status).toBe(200);
    const after = ((await res.json()) as { messages: Page[] }).messages;
    expect(after.map((m) => m.id)).toEqual([q1!.id, a1!.id]);
    expect(after[1]!.metadata?.versions).toBeUndefined();
    expect((await all(id)).map((m) => m.id).sort()).toEqual([q1!.id, a1!.id].sort());
    for (const gone of [a2.id, q2!.id, a3!.id]) expect((await remove(alice, id, gone)).status).toBe(404);

    // Deleting the only answer shows its question alone; deleting the question empties the conversation.
    expect(((await (await remove(alice, id, a1!.id)).json()) as { messages: Page[] }).messages.map((m) => m.id)).toEqual([q1!.id]);
    expect(((await (await remove(alice, id, q1!.id)).json()) as { messages: Page[] }).messages).toEqual([]);
    expect(await all(id)).toEqual([]);
    // The conversation itself stays, and takes a new first question.
    const again = await chat(alice, { id, message: userMessage("Hello") });
    expect(again.chunks.at(-1)?.type).toBe("finish");
  });

  it("someone else's message is not found, and nothing is deleted", async () => {
    const id = await newConversation(alice);
    await chat(alice, { id, message: userMessage("Hello") });
    const [q] = await shown(id);
    const mallory = new TestClient(server.url);
    await mallory.newAccount();
    expect((await remove(mallory, id, q!.id)).status).toBe(404);
    // Mallory's own conversation with Alice's message id: not found either.
    const own = await newConversation(mallory);
    expect((await remove(mallory, own, q!.id)).status).toBe(404);
    expect((await all(id)).length).toBe(2);
  });
});
