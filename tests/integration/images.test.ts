import sharp from "sharp";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { TestClient } from "../helpers/client";
import { chat, newConversation, userMessage } from "../helpers/chat";
import { singleShapeSvg, type Shape } from "../helpers/shape-scenes";

// My images: every stored image is indexed in the background (CLIP
// embedding, caption, chat text) and found again by what is in it, only by
// its owner.

const baseUrl = inject("baseUrl");

interface Item {
  id: string;
  url: string;
  caption: string | null;
  score: number | null;
  reasons: string[];
  conversationId: string | null;
}

const SHAPES: [string, Shape][] = [
  ["red", "circle"],
  ["blue", "square"],
  ["green", "triangle"],
  ["yellow", "circle"],
  ["red", "square"],
  ["blue", "triangle"],
];

async function uploadShape(client: TestClient, colour: string, shape: Shape): Promise<string> {
  const png = await sharp(Buffer.from(singleShapeSvg(colour, shape))).png().toBuffer();
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(png)], { type: "image/png" }), `${colour}-${shape}.png`);
  const res = await client.fetch("/api/uploads", { method: "POST", body: form });
  expect(res.status).toBe(201);
  return ((await res.json()) as { attachment: { id: string } }).attachment.id;
}

const getJson = async <T>(client: TestClient, path: string, init: RequestInit & { json?: unknown } = {}) => {
  const res = await client.fetch(path, init);
  return { status: res.status, body: (await res.json()) as T };
};

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("image index and search", () => {
  const alice = new TestClient(baseUrl);
  const bob = new TestClient(baseUrl);
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    await alice.newAccount();
    await bob.newAccount();
    for (const [colour, shape] of SHAPES) ids[`${colour} ${shape}`] = await uploadShape(alice, colour, shape);
    await waitFor("6 images indexed", async () => (await getJson<{ indexed: number }>(alice, "/api/images/status")).body.indexed === 6);
  });

  it("counts the user's images and how many are indexed", async () => {
    const { body } = await getJson<{ total: number; indexed: number }>(alice, "/api/images/status");
    expect(body).toMatchObject({ total: 6, indexed: 6 });
    expect((await getJson(bob, "/api/images/status")).body).toMatchObject({ total: 0, indexed: 0 });
  });

  it("lists them newest first, page by page", async () => {
    const first = await getJson<{ items: Item[]; nextCursor: string | null }>(alice, "/api/images?limit=4");
    expect(first.status).toBe(200);
    const newestFirst = SHAPES.map(([c, s]) => ids[`${c} ${s}`]).reverse();
    expect(first.body.items.map((i) => i.id)).toEqual(newestFirst.slice(0, 4));
    expect(first.body.items[0]).toMatchObject({ url: `/api/uploads/${newestFirst[0]}`, score: null, reasons: [], conversationId: null });
    const second = await getJson<{ items: Item[]; nextCursor: string | null }>(alice, `/api/images?limit=4&cursor=${first.body.nextCursor}`);
    expect(second.body.items.map((i) => i.id)).toEqual(newestFirst.slice(4));
    expect(second.body.nextCursor).toBeNull();
  });

  it.each([
    ["red circle", "red circle"],
    ["blue square", "blue square"],
    ["a green triangle", "green triangle"],
  ])("finds %s first by what is in it (CLIP)", async (q, expected) => {
    const { status, body } = await getJson<{ items: Item[] }>(alice, `/api/images?q=${encodeURIComponent(q)}`);
    expect(status).toBe(200);
    expect(body.items[0]!.id).toBe(ids[expected]);
    expect(body.items[0]!.reasons).toContain("visual");
    expect(body.items[0]!.score).toBeGreaterThan(0);
  });

  it("never shows one user's images to another", async () => {
    const search = await getJson<{ items: Item[] }>(bob, "/api/images?q=red%20circle");
    expect(search.body.items).toEqual([]);
    expect((await getJson<{ items: Item[] }>(bob, "/api/images")).body.items).toEqual([]);
    const red = ids["red circle"];
    expect((await getJson(bob, `/api/images/${red}/similar`)).status).toBe(404);
    expect((await getJson(bob, `/api/images/${red}/classify`, { method: "POST", json: { labels: ["circle", "square"] } })).status).toBe(404);
    expect((await bob.fetch(`/api/images?q=red`)).status).toBe(200);
    expect((await new TestClient(baseUrl).fetch("/api/images")).status).toBe(401);
  });

  it("finds more like this: an image sharing its colour or its shape first", async () => {
    const { status, body } = await getJson<{ items: Item[] }>(alice, `/api/images/${ids["red circle"]}/similar`);
    expect(status).toBe(200);
    expect(body.items.map((i) => i.id)).not.toContain(ids["red circle"]);
    expect(body.items).toHaveLength(5);
    expect([ids["yellow circle"], ids["red square"]]).toContain(body.items[0]!.id);
    expect(body.items.every((i) => i.reasons.includes("visual"))).toBe(true);
  });

  it("classifies zero-shot with probabilities over the given labels", async () => {
    const { status, body } = await getJson<{ labels: { label: string; probability: number }[] }>(alice, `/api/images/${ids["green triangle"]}/classify`, {
      method: "POST",
      json: { labels: ["circle", "square", "triangle"] },
    });
    expect(status).toBe(200);
    expect(body.labels[0]!.label).toBe("triangle");
    expect(body.labels.reduce((s, l) => s + l.probability, 0)).toBeCloseTo(1, 3);
    const bad = await getJson(alice, `/api/images/${ids["green triangle"]}/classify`, { method: "POST", json: { labels: ["circle"] } });
    expect(bad.status).toBe(400);
  });

  it("groups the whole library by zero-shot labels, each image under its most likely label", async () => {
    const { status, body } = await getJson<{ groups: { label: string; items: { id: string; score: number }[] }[] }>(alice, "/api/images/classify", {
      method: "POST",
      json: { labels: ["circle", "square", "triangle"] },
    });
    expect(status).toBe(200);
    expect(body.groups.map((g) => g.label)).toEqual(["circle", "square", "triangle"]);
    // Every image once, and each shape under its own label.
    expect(body.groups.flatMap((g) => g.items).length).toBe(6);
    for (const [key, id] of Object.entries(ids)) {
      const shape = key.split(" ")[1]!;
      expect(body.groups.find((g) => g.items.some((i) => i.id === id))?.label, key).toBe(shape);
    }
    // Another user's library is their own: empty groups.
    const other = await getJson<{ groups: { items: unknown[] }[] }>(bob, "/api/images/classify", { method: "POST", json: { labels: ["circle", "square"] } });
    expect(other.body.groups.every((g) => g.items.length === 0)).toBe(true);
  });

  it("finds an image by the chat text it was sent with, and links its conversation", async () => {
    const conversationId = await newConversation(alice);
    const r = await chat(alice, { id: conversationId, message: userMessage("This is the logo of Zanzibar Bakery. What color is the square?", [`/api/uploads/${ids["blue square"]}`]) });
    expect(r.status).toBe(200);
    const { body } = await getJson<{ items: Item[] }>(alice, "/api/images?q=zanzibar%20bakery");
    // CLIP still finds a "closest" shape for words it never learned, and the hybrid weighs it
    // more (bench/RESULTS.md): the chat match is listed, saying why, but not necessarily first.
    const hit = body.items.find((i) => i.id === ids["blue square"]);
    expect(hit).toMatchObject({ conversationId });
    expect(hit!.reasons).toContain("chat");
    expect(body.items.filter((i) => i.reasons.includes("chat")).map((i) => i.id)).toEqual([ids["blue square"]]);
    // Filters: only that conversation's images.
    const inChat = await getJson<{ items: Item[] }>(alice, `/api/images?conversationId=${conversationId}`);
    expect(inChat.body.items.map((i) => i.id)).toEqual([ids["blue square"]]);
  });

  it("embeds texts and images into one space (POST /v1/embeddings)", async () => {
    const key = await getJson<{ secret: string }>(alice, "/api/keys", { method: "POST", json: { name: "embeddings" } });
    const post = (body: unknown) =>
      fetch(`${baseUrl}/v1/embeddings`, { method: "POST", headers: { authorization: `Bearer ${key.body.secret}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    const png = async (c: string, s: Shape) => `data:image/png;base64,${(await sharp(Buffer.from(singleShapeSvg(c, s))).png().toBuffer()).toString("base64")}`;
    const res = await post({ model: "clip", input: ["A red circle.", await png("red", "circle"), { type: "image_url", image_url: { url: await png("blue", "square") } }] });
    expect(res.status).toBe(200);
    const out = (await res.json()) as { object: string; data: { object: string; index: number; embedding: number[] }[]; model: string };
    expect(out.object).toBe("list");
    expect(out.data.map((d) => [d.object, d.index])).toEqual([
      ["embedding", 0],
      ["embedding", 1],
      ["embedding", 2],
    ]);
    const [text, red, blue] = out.data.map((d) => d.embedding);
    const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
    expect(dot(text!, text!)).toBeCloseTo(1, 3);
    expect(dot(text!, red!)).toBeGreaterThan(dot(text!, blue!) + 0.1);
    const bad = await post({ model: "clip", input: "data:image/png;base64,bm90IGFuIGltYWdl" });
    expect(bad.status).toBe(415);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe("input");
    expect((await fetch(`${baseUrl}/v1/embeddings`, { method: "POST", body: "{}" })).status).toBe(401);
    // Another model's name is not silently served by CLIP.
    const other = await post({ model: "text-embedding-3-small", input: "A red circle." });
    expect(other.status).toBe(404);
    expect(((await other.json()) as { error: { code: string; param: string } }).error).toMatchObject({ code: "model_not_found", param: "model" });
    // Not base64: said so, not "the file is empty".
    const notBase64 = await post({ model: "clip", input: "data:image/png;base64,@@@not*base64!!" });
    expect(notBase64.status).toBe(400);
    expect(((await notBase64.json()) as { error: { message: string } }).error.message).toMatch(/not valid base64/);
  });

  it("captions images with the chat model in the background, searchable by their words", async () => {
    await waitFor("a caption", async () => (await getJson<{ captioned: number }>(alice, "/api/images/status")).body.captioned >= 1, 90_000);
    const { body } = await getJson<{ items: Item[] }>(alice, "/api/images?limit=50");
    const captioned = body.items.find((i) => i.caption)!;
    expect(captioned.caption).toMatch(/\w+/);
    // The shipped model describes shapes; its caption names one.
    const word = captioned.caption!.toLowerCase().match(/circle|square|triangle/)?.[0];
    expect(word).toBeDefined();
    const found = await getJson<{ items: Item[] }>(alice, `/api/images?q=${word}`);
    expect(found.body.items.find((i) => i.id === captioned.id)?.reasons).toContain("caption");
  });
});
