import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chat, userMessage, type SavedMessage } from "../helpers/chat";
import { TestClient } from "../helpers/client";
import { tinyRandomModel } from "../helpers/engine";
import { startServer, type RunningServer } from "../helpers/server";

// Continue (issue 24, item 3): an answer cut at its length limit is written
// on in the same message (same id, same branch), from the branch's cached
// model state: the prompt and the answer so far are not evaluated again,
// and the model writes on from the answer's last token, so at temperature 0
// the continued answer is the one a larger budget would have written.

type Saved = SavedMessage & { id: string; reusedTokens: number | null; completionTokens: number | null };

describe("Continue on an answer cut at its length limit", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-continue-"));
  let server: RunningServer;
  let alice: TestClient;
  beforeAll(async () => {
    const { model } = await tinyRandomModel();
    server = await startServer({ dataDir, env: { MODEL_PATH: model.path, MMPROJ_PATH: model.vision!.mmprojPath, CONTEXT_SIZE: "4096", TRUST_PROXY: "true" } });
    alice = new TestClient(server.url);
    await alice.newAccount();
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const conversationWith = async (client: TestClient, maxTokens: number) =>
    ((await (await client.fetch("/api/conversations", { method: "POST", json: { settings: { maxTokens } } })).json()) as { conversation: { id: string } }).conversation.id;
  const messages = async (client: TestClient, id: string) =>
    ((await (await client.fetch(`/api/conversations/${id}`)).json()) as { conversation: { messages: Saved[] } }).conversation.messages;

  it("extends the same message from the cached state, exactly as an uncut answer would have gone on", async () => {
    // The same question with twice the budget: what the cut answer should become.
    const whole = await chat(alice, { id: await conversationWith(alice, 32), message: userMessage("Hello") });
    expect(whole.chunks.at(-1)).toMatchObject({ type: "finish", messageMetadata: { finishReason: "length" } });

    const id = await conversationWith(alice, 16);
    const cut = await chat(alice, { id, message: userMessage("Hello") });
    expect(cut.chunks.at(-1)).toMatchObject({ type: "finish", messageMetadata: { finishReason: "length" } });
    const [question, answer] = await messages(alice, id);
    expect(answer!.finishReason).toBe("length");
    expect(answer!.parts[0]!.text).toBe(cut.text);

    const more = await chat(alice, { id, trigger: "regenerate-message", messageId: answer!.id, continue: true });
    expect(more.status).toBe(200);
    // The stream names the same message and carries the whole answer (what there was, then the rest).
    expect(more.chunks[0]).toMatchObject({ type: "start", messageMetadata: { assistantMessageId: answer!.id } });
    expect(more.text.startsWith(cut.text)).toBe(true);
    expect(more.text.length).toBeGreaterThan(cut.text.length);
    expect(more.text).toBe(whole.text);

    const after = await messages(alice, id);
    // Still one question and one answer: the same row, grown.
    expect(after.map((m) => m.id)).toEqual([question!.id, answer!.id]);
    const grown = after[1]!;
    expect(grown.status).toBe("complete");
    expect(grown.parts[0]!.text).toBe(more.text);
    // The prompt was the first answer's prompt plus its 16 tokens, all but the last token or two from the cache.
    expect(grown.promptTokens!).toBeGreaterThanOrEqual(answer!.promptTokens! + 15);
    expect(grown.promptTokens! - grown.reusedTokens!).toBeLessThanOrEqual(2);
    expect(grown.reusedTokens!).toBeGreaterThanOrEqual(answer!.promptTokens!);
    console.log(
      `continue: first answer prompt ${answer!.promptTokens} tokens (${answer!.reusedTokens} cached); continued prompt ${grown.promptTokens} tokens, ${grown.reusedTokens} cached, ${grown.promptTokens! - grown.reusedTokens!} evaluated`,
    );
  });

  it("refuses what cannot be continued: a complete answer, a question, someone else's answer", async () => {
    const id = await conversationWith(alice, 4000);
    await chat(alice, { id, message: userMessage("Hello") });
    const [question] = await messages(alice, id);
    const cutId = await conversationWith(alice, 8);
    await chat(alice, { id: cutId, message: userMessage("Hello") });
    const [, cutAnswer] = await messages(alice, cutId);

    expect((await chat(alice, { id, trigger: "regenerate-message", messageId: question!.id, continue: true })).status).toBe(400);
    const mallory = new TestClient(server.url);
    await mallory.newAccount();
    expect((await chat(mallory, { id: cutId, trigger: "regenerate-message", messageId: cutAnswer!.id, continue: true })).status).toBe(404);
    // Without a message id the request is malformed.
    expect((await chat(alice, { id: cutId, trigger: "regenerate-message", continue: true })).status).toBe(400);
    // Nothing changed.
    expect((await messages(alice, cutId))[1]!.parts[0]!.text).toBe(cutAnswer!.parts[0]!.text);
  });
});
