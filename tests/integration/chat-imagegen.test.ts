import sharp from "sharp";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { chat, newConversation, resume, userMessage, type Chunk } from "../helpers/chat";
import { TestClient } from "../helpers/client";

// Image generation in the chat (issue #28, section 3), through the real chat route and the
// generator the app finds itself: the project's own shape-world model (lib/imagegen/local.ts).
// A generation turn saves the prompt as the question and the image as the answer, in the user's
// library; Stop keeps nothing of the image; Regenerate makes a version with another seed; and
// the next question is answered by the demo VLM about the image generated.

const baseUrl = inject("baseUrl");

interface UIPart {
  type: string;
  text?: string;
  url?: string;
  data?: { prompt?: string; seed?: number; width?: number; height?: number; steps?: number; generator?: string };
}
interface UIMessage {
  id: string;
  role: "user" | "assistant";
  parts: UIPart[];
  metadata?: { status?: string; error?: string | null; versions?: { ids: string[]; index: number } };
}
interface GeneratorStatus {
  generator: { id: string; kind: "local" | "remote"; sizes: string[]; defaultSteps: number; maxSteps: number } | null;
  reason?: string;
}
interface LibraryPage {
  items: { id: string; conversationId: string | null; messageId: string | null; generated?: { prompt: string; seed: number | null; generator: string } | null }[];
}

/** The seed of the image asked about. */
const SEED = 1;

const textOf = (m: UIMessage) => m.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("");
const imageUrl = (m: UIMessage) => m.parts.find((p) => p.type === "file")?.url;
const generationOf = (m: UIMessage) => m.parts.find((p) => p.type === "data-generation")?.data;
const progressOf = (chunks: Chunk[]) => chunks.filter((c) => c.type === "data-image-progress").map((c) => (c as unknown as { data: { step: number; steps: number; preview?: string } }).data);

describe("image generation in the chat", () => {
  const alice = new TestClient(baseUrl);
  const bob = new TestClient(baseUrl);
  let generator: NonNullable<GeneratorStatus["generator"]>;
  beforeAll(async () => {
    await alice.newAccount();
    await bob.newAccount();
    const status = (await (await alice.fetch("/api/chat/generator")).json()) as GeneratorStatus;
    // The app's own generator, found with no configuration: never a stand-in.
    expect(status.reason).toBeUndefined();
    generator = status.generator!;
    expect(generator.kind).toBe("local");
  });

  const shown = async (client: TestClient, id: string) =>
    ((await (await client.fetch(`/api/conversations/${id}/messages`)).json()) as { messages: UIMessage[] }).messages;
  const library = async (client: TestClient) => ((await (await client.fetch("/api/images?limit=100")).json()) as LibraryPage).items;
  const smallest = () => generator.sizes[0]!;

  it("a generation turn saves the prompt as the question and the image, in the user's library, as the answer", async () => {
    const id = await newConversation(alice);
    const size = smallest();
    const turn = await chat(alice, { id, kind: "image", image: { size, steps: generator.defaultSteps }, message: userMessage("a blue square") });
    expect(turn.status).toBe(200);
    // Step by step, in order, to the last step; then the image.
    const steps = progressOf(turn.chunks);
    expect(steps.length).toBeGreaterThan(0);
    expect(steps.map((s) => s.step)).toEqual([...steps.map((s) => s.step)].sort((a, b) => a - b));
    expect(steps.at(-1)).toMatchObject({ step: steps.at(-1)!.steps });
    const file = turn.chunks.find((c) => c.type === "file") as unknown as { url: string; mediaType: string };
    expect(file.url).toMatch(/^\/api\/uploads\/[\w-]+$/);
    expect(turn.chunks.at(-1)?.type).toBe("finish");

    const [question, answer] = await shown(alice, id);
    expect(question!.role).toBe("user");
    expect(textOf(question!)).toBe("a blue square");
    expect(answer!.role).toBe("assistant");
    expect(answer!.metadata?.status).toBe("complete");
    expect(imageUrl(answer!)).toBe(file.url);
    const generation = generationOf(answer!)!;
    expect(generation).toMatchObject({ prompt: "a blue square", generator: generator.id, width: Number(size.split("x")[0]), steps: generator.defaultSteps });
    expect(Number.isInteger(generation.seed)).toBe(true);

    // The image is the user's: a real PNG of the size asked for, in their library, from this answer.
    const res = await alice.fetch(file.url);
    expect(res.status).toBe(200);
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect(`${meta.width}x${meta.height}`).toBe(size);
    const attachmentId = file.url.split("/").at(-1)!;
    expect(await library(alice)).toContainEqual(expect.objectContaining({ id: attachmentId, conversationId: id, messageId: answer!.id }));

    // Nobody else can open it, list it, or see the conversation.
    expect((await bob.fetch(file.url)).status).toBe(404);
    expect((await library(bob)).map((i) => i.id)).not.toContain(attachmentId);
    expect((await bob.fetch(`/api/conversations/${id}/messages`)).status).toBe(404);
  });

  it('"/draw <prompt>" is a generation turn too; the question keeps what was typed', async () => {
    const id = await newConversation(alice);
    const turn = await chat(alice, { id, message: userMessage("/draw a red circle") });
    expect(turn.chunks.some((c) => c.type === "file")).toBe(true);
    const [question, answer] = await shown(alice, id);
    expect(textOf(question!)).toBe("/draw a red circle");
    expect(generationOf(answer!)?.prompt).toBe("a red circle");
  });

  it("refuses what cannot be drawn with a clear 400, before anything is saved", async () => {
    const id = await newConversation(alice);
    const bad = await chat(alice, { id, kind: "image", image: { size: "100x37" }, message: userMessage("a green triangle") });
    expect(bad.status).toBe(400);
    expect(bad.json?.error.message).toMatch(/makes images of/);
    const empty = await chat(alice, { id, message: userMessage("/draw   ") });
    expect(empty.status).toBe(400);
    expect(empty.json?.error.message).toMatch(/what to draw/i);
    expect(await shown(alice, id)).toEqual([]);
  });

  it("Stop mid-generation leaves a stopped answer and no image anywhere", async () => {
    const before = (await library(alice)).map((i) => i.id);
    const id = await newConversation(alice);
    // The largest size with the most steps: the longest the generator takes.
    const size = generator.sizes.at(-1)!;
    let stop: Promise<Response> | undefined;
    const turn = await chat(
      alice,
      { id, kind: "image", image: { size, steps: generator.maxSteps }, message: userMessage("a yellow circle above a purple square") },
      {
        onChunk: (c) => {
          if (c.type === "data-image-progress" && !stop) stop = alice.fetch(`/api/chat/${id}/stop`, { method: "POST" });
        },
      },
    );
    expect(stop).toBeDefined();
    expect((await stop!).status).toBe(200);
    expect(turn.chunks.some((c) => c.type === "file")).toBe(false);
    const [, answer] = await shown(alice, id);
    expect(answer!.metadata?.status).toBe("stopped");
    expect(answer!.metadata?.error).toMatch(/nothing of it was saved/);
    expect(imageUrl(answer!)).toBeUndefined();
    // Its request is kept (Regenerate draws again), its image is not.
    expect(generationOf(answer!)?.prompt).toBe("a yellow circle above a purple square");
    expect((await library(alice)).map((i) => i.id)).toEqual(before);
  });

  it("a page that joins mid-generation (a reload) gets the latest progress, then the image", async () => {
    const id = await newConversation(alice);
    const first = await chat(
      alice,
      { id, kind: "image", image: { size: generator.sizes.at(-1)!, steps: generator.maxSteps }, message: userMessage("a red circle") },
      // The first page goes away at the first step: the generation goes on without it.
      { onChunk: (c) => c.type === "data-image-progress" },
    );
    expect(first.chunks.some((c) => c.type === "file")).toBe(false);
    const joined = await resume(alice, id);
    expect(joined.status).toBe(200);
    // What was written before it joined comes first: the request, one progress part (the latest, not one per step), the start.
    expect(joined.chunks[0]?.type).toBe("start");
    expect(joined.chunks.some((c) => c.type === "data-generation")).toBe(true);
    expect(joined.chunks.some((c) => c.type === "file")).toBe(true);
    expect(joined.chunks.at(-1)?.type).toBe("finish");
    const [, answer] = await shown(alice, id);
    expect(answer!.metadata?.status).toBe("complete");
    expect(imageUrl(answer!)).toBe((joined.chunks.find((c) => c.type === "file") as unknown as { url: string }).url);
  });

  it("deleting the conversation mid-generation leaves no image behind", async () => {
    const before = (await library(alice)).map((i) => i.id);
    const id = await newConversation(alice);
    let deleted: Promise<Response> | undefined;
    const turn = await chat(
      alice,
      { id, kind: "image", image: { size: generator.sizes.at(-1)!, steps: generator.maxSteps }, message: userMessage("a green square") },
      { onChunk: (c) => void (c.type === "data-image-progress" && !deleted && (deleted = alice.fetch(`/api/conversations/${id}`, { method: "DELETE" }))) },
    );
    expect((await deleted!).ok).toBe(true);
    expect(turn.chunks.some((c) => c.type === "file")).toBe(false);
    expect(turn.chunks.at(-1)).toMatchObject({ type: "error", errorText: "The conversation was deleted." });
    expect((await library(alice)).map((i) => i.id)).toEqual(before);
  });

  it("Regenerate on a generated image makes a new version with another seed; both are kept and switchable", async () => {
    const id = await newConversation(alice);
    await chat(alice, { id, kind: "image", image: { size: smallest() }, message: userMessage("a green triangle") });
    const [, first] = await shown(alice, id);
    const again = await chat(alice, { id, trigger: "regenerate-message", messageId: first!.id });
    expect(again.chunks.some((c) => c.type === "file")).toBe(true);
    const [, second] = await shown(alice, id);
    expect(second!.id).not.toBe(first!.id);
    expect(second!.metadata?.versions).toEqual({ ids: [first!.id, second!.id], index: 1 });
    expect(generationOf(second!)?.prompt).toBe("a green triangle");
    expect(generationOf(second!)?.seed).not.toBe(generationOf(first!)?.seed);
    expect(imageUrl(second!)).toBeDefined();

    const back = await alice.fetch(`/api/conversations/${id}/branch`, { method: "POST", json: { messageId: first!.id } });
    expect(back.status).toBe(200);
    const shownBack = ((await back.json()) as { messages: UIMessage[] }).messages;
    expect(shownBack[1]!.id).toBe(first!.id);
    expect(imageUrl(shownBack[1]!)).toBe(imageUrl(first!));
  });

  it("an export keeps the generated image's prompt, seed and generator, and an import (by another user) restores them", async () => {
    const id = await newConversation(alice);
    await chat(alice, { id, kind: "image", image: { size: smallest(), seed: 77 }, message: userMessage("a green triangle") });
    const file = (await (await alice.fetch(`/api/conversations/${id}/export?format=json`)).json()) as { images: { generated?: unknown }[] };
    expect(file.images).toContainEqual(expect.objectContaining({ generated: { prompt: "a green triangle", seed: 77, generator: generator.id } }));
    const res = await bob.fetch("/api/import", { method: "POST", body: JSON.stringify(file), headers: { "content-type": "application/json" } });
    expect(res.status).toBe(201);
    const imported = (await library(bob)).filter((i) => i.generated?.prompt === "a green triangle");
    expect(imported).toHaveLength(1);
    expect(imported[0]!.generated).toEqual({ prompt: "a green triangle", seed: 77, generator: generator.id });
    // A hand-edited file cannot smuggle in a bad seed.
    const bad = structuredClone(file) as { images: { generated?: { seed: number } }[] };
    bad.images.find((i) => i.generated)!.generated!.seed = -5;
    const refused = await bob.fetch("/api/import", { method: "POST", body: JSON.stringify(bad), headers: { "content-type": "application/json" } });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toMatch(/generated\.seed/);
  });

  it('"What color is the square?" after "a blue square" is answered by the demo VLM about the generated image', async () => {
    const id = await newConversation(alice);
    // A seed of its own (the generator makes the same bytes from the same seed), so the run does not depend on a random draw.
    await chat(alice, { id, kind: "image", image: { size: smallest(), seed: SEED }, message: userMessage("a blue square") });
    const [, generated] = await shown(alice, id);
    expect(generationOf(generated!)?.seed).toBe(SEED);
    const answer = await chat(alice, { id, message: userMessage("What color is the square?") });
    expect(answer.status).toBe(200);
    expect(answer.text).toMatch(/\bblue\b/i);
    // A later question with no image of its own is about the same image.
    const shape = await chat(alice, { id, message: userMessage("What shape is it?") });
    expect(shape.text).toMatch(/square/i);
  });
});
