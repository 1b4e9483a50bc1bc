import { createHash } from "node:crypto";
import { unzipSync, strFromU8 } from "fflate";
import sharp from "sharp";
import { beforeAll, describe, expect, inject, it } from "vitest";
import type { Archive, ArchiveConversation } from "@/lib/archive/archive-schema";
import { chat, fixture, uploadFixture, userMessage } from "../helpers/chat";
import { TestClient } from "../helpers/client";

// Against the real server, a real SQLite file and the shipped demo model. The
// server runs with IMPORT_MAX_BYTES = 8 MiB (global-setup.ts).

const baseUrl = inject("baseUrl");
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

const upload = (client: TestClient, name: string, type: string) => uploadFixture(client, name, type);

/** One chat turn, drained; returns the answer's text. */
async function ask(client: TestClient, id: string, text: string, imageUrl?: string): Promise<string> {
  const r = await chat(client, { id, message: userMessage(text, imageUrl ? [imageUrl] : []) });
  expect(r.status).toBe(200);
  return r.text;
}

async function exportJson(client: TestClient, id?: string): Promise<{ res: Response; archive: Archive }> {
  const res = await client.fetch(id ? `/api/conversations/${id}/export?format=json` : "/api/export?format=json");
  expect(res.status).toBe(200);
  return { res, archive: (await res.json()) as Archive };
}

async function importJson(client: TestClient, body: unknown) {
  const res = await client.fetch("/api/import", { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body), headers: { "content-type": "application/json" } });
  return { status: res.status, body: (await res.json()) as { conversations: { id: string; url: string }[]; images: number; error?: { code: string; message: string } } };
}

async function conversationIds(client: TestClient): Promise<string[]> {
  const res = await client.fetch("/api/conversations?limit=100");
  return ((await res.json()) as { conversations: { id: string }[] }).conversations.map((c) => c.id);
}

/** The conversation with file ids replaced by message order, so two copies with different ids compare equal. */
function canonical(c: ArchiveConversation) {
  const index = new Map(c.messages.map((m, i) => [m.id, i]));
  const { id: _id, activeLeafId, messages, ...rest } = c;
  return {
    ...rest,
    activeLeaf: activeLeafId === null ? null : index.get(activeLeafId),
    messages: messages.map(({ id: _m, parentId, ...m }) => ({ ...m, parent: parentId === null ? null : index.get(parentId) })),
  };
}

async function waitForIdle() {
  for (let i = 0; i < 200; i++) {
    const health = await (await fetch(`${baseUrl}/api/health`)).json();
    if (health.model.status === "ready" && health.model.slotsBusy === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the engine did not become idle");
}

/** An imported conversation as it was exported: the same, less the title's " (imported)". */
const unimported = (c: ArchiveConversation): ArchiveConversation => ({ ...c, title: c.title.replace(/ \(imported\)$/, "") });

describe("export and import", () => {
  const alice = new TestClient(baseUrl);
  const bob = new TestClient(baseUrl);
  let conversationId: string;
  let original: Archive;
  const originalBytes = new Map<string, Buffer>();

  beforeAll(async () => {
    await alice.newAccount();
    await bob.newAccount();
    await waitForIdle();
    // Two turns, two images (a PNG and a JPEG), answered by the real tiny model.
    const res = await alice.fetch("/api/conversations", { method: "POST", json: {} });
    conversationId = ((await res.json()) as { conversation: { id: string } }).conversation.id;
    const png = await upload(alice, "red-circle.png", "image/png");
    expect(await ask(alice, conversationId, "What color is the circle?", png)).toMatch(/\bred\b/);
    const jpg = await upload(alice, "blue-square.jpg", "image/jpeg");
    // The tiny model answers a second image less reliably; only the export's fidelity is under test here.
    expect((await ask(alice, conversationId, "What color is the square?", jpg)).length).toBeGreaterThan(0);
    for (const url of [png, jpg]) {
      const bytes = Buffer.from(await (await alice.fetch(url)).arrayBuffer());
      originalBytes.set(sha256(bytes), bytes);
    }
    // Named by hand, so the model's title, written in the background once the
    // engine is idle (later on a busy machine), cannot rename it between two
    // exports (file and folder names are checked below).
    const renamed = await alice.fetch(`/api/conversations/${conversationId}`, { method: "PATCH", json: { title: "What color is the circle?" } });
    expect(renamed.status).toBe(200);
    original = (await exportJson(alice, conversationId)).archive;
  });

  it("exports the whole conversation as versioned JSON with its images, as a named download", async () => {
    const { res, archive } = await exportJson(alice, conversationId);
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="what-color-is-the-circle.json"');
    expect(res.headers.get("cache-control")).toContain("no-store");
    expect(archive).toMatchObject({ format: "local-vision-chat", version: 1 });
    expect(archive.conversations).toHaveLength(1);
    const [c] = archive.conversations;
    expect(c!.id).toBe(conversationId);
    expect(c!.messages.map((m) => [m.role, m.status, m.position])).toEqual([
      ["user", "complete", 0],
      ["assistant", "complete", 1],
      ["user", "complete", 2],
      ["assistant", "complete", 3],
    ]);
    expect(c!.messages[1]!.parentId).toBe(c!.messages[0]!.id);
    expect(c!.messages[3]!.completionTokens).toBeGreaterThan(0);
    expect(c!.messages[0]!.parts.map((p) => p.type)).toEqual(["image", "text"]);
    expect(archive.images.map((i) => i.mediaType).sort()).toEqual(["image/jpeg", "image/png"]);
    for (const image of archive.images) {
      const bytes = Buffer.from(image.data, "base64");
      expect(sha256(bytes)).toBe(image.sha256);
      expect(originalBytes.get(image.sha256)?.equals(bytes)).toBe(true);
    }
  });

  it("imports into another account as a new, equal conversation whose images are byte-for-byte the same", async () => {
    const imported = await importJson(bob, original);
    expect(imported.status).toBe(201);
    expect(imported.body.images).toBe(2);
    expect(imported.body.conversations).toHaveLength(1);
    const newId = imported.body.conversations[0]!.id;
    expect(newId).not.toBe(conversationId);
    expect(imported.body.conversations[0]!.url).toBe(`/c/${newId}`);

    const copy = (await exportJson(bob, newId)).archive.conversations[0]!;
    const source = original.conversations[0]!;
    // The copy says it is one, so the two can be told apart in a list.
    expect(copy.title).toBe(`${source.title} (imported)`);
    expect(canonical(unimported(copy))).toEqual(canonical(source));
    const sourceIds = new Set(source.messages.map((m) => m.id));
    expect(copy.messages.filter((m) => sourceIds.has(m.id))).toEqual([]);

    // The images bob's copy shows are his own attachments, with the original bytes.
    const stored = await (await bob.fetch(`/api/conversations/${newId}`)).json();
    const imageIds: string[] = stored.conversation.messages.flatMap((m: { parts: { type: string; attachmentId?: string }[] }) =>
      m.parts.flatMap((p) => (p.type === "image" ? [p.attachmentId!] : [])),
    );
    expect(imageIds).toHaveLength(2);
    for (const id of imageIds) {
      const res = await bob.fetch(`/api/uploads/${id}`);
      expect(res.status).toBe(200);
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(originalBytes.get(sha256(bytes))?.equals(bytes), `image ${id}`).toBe(true);
      expect((await alice.fetch(`/api/uploads/${id}`)).status).toBe(404);
    }
    expect(await conversationIds(bob)).toContain(newId);
  });

  it("imports into the same account as a copy that reuses the same attachments", async () => {
    const before = await (await alice.fetch(`/api/conversations/${conversationId}`)).json();
    const imported = await importJson(alice, original);
    expect(imported.status).toBe(201);
    const after = await (await alice.fetch(`/api/conversations/${imported.body.conversations[0]!.id}`)).json();
    const images = (c: { conversation: { messages: { parts: { type: string; attachmentId?: string }[] }[] } }) =>
      c.conversation.messages.flatMap((m) => m.parts.flatMap((p) => (p.type === "image" ? [p.attachmentId] : [])));
    expect(images(after)).toEqual(images(before));
  });

  it("keeps every branch, status, setting and the active leaf through import and export", async () => {
    const source = structuredClone(original.conversations[0]!);
    const [q1, a1, q2, a2] = source.messages as [ArchiveConversation["messages"][number], ...ArchiveConversation["messages"]];
    const later = (iso: string, s: number) => new Date(new Date(iso).getTime() + s * 1000).toISOString();
    // A regenerated first answer (stopped) and an edited second question with its own answer (the active branch).
    source.messages.push(
      { ...a1!, id: "a1-regenerated", parts: [{ type: "text", text: "It is red." }], status: "stopped", error: "Stopped.", finishReason: "aborted", createdAt: later(a2!.createdAt, 1) },
      { ...q2!, id: "q2-edited", parts: [{ type: "text", text: "How many shapes?" }], createdAt: later(a2!.createdAt, 2) },
      { ...a2!, id: "a2-edited", parentId: "q2-edited", parts: [{ type: "text", text: "One." }], status: "error", error: "The model failed.", createdAt: later(a2!.createdAt, 3) },
    );
    Object.assign(source, {
      title: "Branches",
      titleByUser: true,
      systemPrompt: "Be brief.",
      settings: { temperature: 0.2, topP: 0.9, maxTokens: 64, seed: 7 },
      activeLeafId: "a2-edited",
    });
    expect(q1!.parentId).toBeNull();
    const imported = await importJson(bob, { ...original, conversations: [source] });
    expect(imported.status).toBe(201);
    const copy = (await exportJson(bob, imported.body.conversations[0]!.id)).archive.conversations[0]!;
    // The database returns siblings by position then time: put the source in the same order to compare.
    const order = (c: ArchiveConversation) => ({ ...c, messages: [...c.messages].sort((x, y) => x.position - y.position || x.createdAt.localeCompare(y.createdAt)) });
    expect(canonical(order(unimported(copy)))).toEqual(canonical(order(source)));
    expect(copy.messages.filter((m) => m.parentId === copy.messages[0]!.id)).toHaveLength(2);
  });

  it("exports the active branch as Markdown in a zip with the images beside it", async () => {
    const res = await alice.fetch(`/api/conversations/${conversationId}/export?format=markdown`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/zip");
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="what-color-is-the-circle.zip"');
    const files = unzipSync(new Uint8Array(await res.arrayBuffer()));
    const names = Object.keys(files).sort();
    const png = original.images.find((i) => i.mediaType === "image/png");
    const jpg = original.images.find((i) => i.mediaType === "image/jpeg");
    expect(names).toEqual([`images/${jpg!.sha256}.jpg`, `images/${png!.sha256}.png`, "what-color-is-the-circle.md"].sort());
    const md = strFromU8(files["what-color-is-the-circle.md"]!);
    expect(md).toMatch(/^# What color is the circle\?\n/);
    expect(md).toContain(`![Image 1](images/${png!.sha256}.png)`);
    expect(md).toContain("What color is the square?");
    const lastAnswer = original.conversations[0]!.messages[3]!.parts[0] as { text: string };
    expect(md).toContain(lastAnswer.text.trim());
    expect(md.match(/^## (You|Assistant)$/gm)).toEqual(["## You", "## Assistant", "## You", "## Assistant"]);
    expect(Buffer.from(files[`images/${png!.sha256}.png`]!).equals(originalBytes.get(png!.sha256)!)).toBe(true);
  });

  it("exports all conversations: JSON with each one, Markdown with a folder each", async () => {
    const ids = await conversationIds(alice);
    const { res, archive } = await exportJson(alice);
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="conversations-\d{4}-\d{2}-\d{2}\.json"$/);
    expect(archive.conversations.map((c) => c.id).sort()).toEqual([...ids].sort());
    expect(archive.images).toHaveLength(2); // the copy shares the images

    const zip = await alice.fetch("/api/export?format=markdown");
    expect(zip.status).toBe(200);
    const names = Object.keys(unzipSync(new Uint8Array(await zip.arrayBuffer())));
    const folders = new Set(names.map((n) => n.split("/")[0]));
    expect(folders.size).toBe(ids.length);
    expect(names).toContain("what-color-is-the-circle/what-color-is-the-circle.md");
    expect(names).toContain("what-color-is-the-circle-imported/what-color-is-the-circle-imported.md");
    expect(names.filter((n) => n.includes("/images/"))).toHaveLength(4);
  });

  it("answers 404 to another user's conversation in either format, and 401 without a session", async () => {
    for (const format of ["json", "markdown"]) {
      const res = await bob.fetch(`/api/conversations/${conversationId}/export?format=${format}`);
      expect(res.status, format).toBe(404);
      expect((await res.json()).error.code).toBe("not_found:conversation");
    }
    expect((await new TestClient(baseUrl).fetch("/api/export")).status).toBe(401);
    expect((await new TestClient(baseUrl).fetch("/api/import", { method: "POST", json: original })).status).toBe(401);
    expect((await alice.fetch(`/api/conversations/${conversationId}/export?format=pdf`)).status).toBe(400);
  });

  it("refuses bad files with a 400 that names the problem, and imports nothing from them", async () => {
    const carol = new TestClient(baseUrl);
    await carol.newAccount();
    const png = original.images.find((i) => i.mediaType === "image/png")!;
    const withImage = (data: Buffer) => ({ ...png, sha256: sha256(data), data: data.toString("base64") });
    const conversationWith = (sha: string) => {
      const c = structuredClone(original.conversations[0]!);
      c.messages[0]!.parts = [{ type: "image", sha256: sha }, { type: "text", text: "x" }];
      c.messages[2]!.parts = [{ type: "text", text: "y" }];
      return c;
    };
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><script>alert(1)</script></svg>');
    const truncated = fixture("red-circle.png").subarray(0, 200);
    const tiny = await sharp({ create: { width: 4, height: 4, channels: 3, background: "#f00" } }).png().toBuffer();
    const aliceImageId = (await (await alice.fetch(`/api/conversations/${conversationId}`)).json()).conversation.messages[0].parts[0].attachmentId;
    const imagesOf = (...data: Buffer[]) => data.map(withImage);

    const cases: [string, unknown, RegExp][] = [
      ["not JSON", "this is not json {", /not JSON/],
      ["a JSON array", [], /not a local-vision-chat export/],
      ["another format", { ...original, format: "other-chat" }, /not a local-vision-chat export/],
      ["a newer version", { ...original, version: 2 }, /version 2; this app reads version 1/],
      ["a text file posing as an image", { ...original, conversations: [conversationWith(sha256(Buffer.from("hello")))], images: imagesOf(Buffer.from("hello")) }, /images\[0\].*not a supported image/],
      ["an SVG", { ...original, conversations: [conversationWith(sha256(svg))], images: imagesOf(svg) }, /images\[0\].*SVG/],
      ["a truncated PNG", { ...original, conversations: [conversationWith(sha256(truncated))], images: imagesOf(truncated) }, /images\[0\].*damaged/],
      ["a 4×4 image", { ...original, conversations: [conversationWith(sha256(tiny))], images: imagesOf(tiny) }, /images\[0\].*4×4/],
      ["data that does not match its sha256", { ...original, images: original.images.map((i) => ({ ...i, data: Buffer.from("other").toString("base64") })) }, /does not match its sha256/],
      ["someone else's attachment id", { ...original, conversations: [{ ...conversationWith(png.sha256), messages: original.conversations[0]!.messages.map((m, i) => (i === 0 ? { ...m, parts: [{ type: "image", attachmentId: aliceImageId }] } : m)) }] }, /conversations\.0\.messages\.0\.parts\.0/],
      ["an image named only by its hash", { ...original, images: [] }, /no image with this SHA-256 is in the file/],
      ["a dangling parent", { ...original, conversations: [{ ...original.conversations[0]!, messages: original.conversations[0]!.messages.map((m, i) => (i === 1 ? { ...m, parentId: "elsewhere" } : m)) }] }, /parentId: must be the id of a message in the same conversation/],
      ["a good conversation, then a bad image", { ...original, conversations: [original.conversations[0]!, conversationWith(sha256(svg))], images: [...original.images, withImage(svg)] }, /images\[2\].*SVG/],
    ];
    for (const [name, body, message] of cases) {
      const res = await importJson(carol, body);
      expect(res.status, name).toBe(400);
      expect(res.body.error?.code, name).toBe("bad_request:import");
      expect(res.body.error?.message, name).toMatch(message);
    }
    expect(await conversationIds(carol)).toEqual([]);
    // Alice's conversation and image are untouched by the attempt to borrow them.
    expect((await carol.fetch(`/api/uploads/${aliceImageId}`)).status).toBe(404);
    expect((await alice.fetch(`/api/uploads/${aliceImageId}`)).status).toBe(200);
  });

  it("refuses a file over the size limit with 413 and anything but JSON with 415", async () => {
    const big = JSON.stringify({ ...original, padding: "x".repeat(9 * 1024 * 1024) });
    const res = await importJson(bob, big);
    expect(res.status).toBe(413);
    expect(res.body.error?.message).toMatch(/larger than the 8 MiB limit/);
    const form = await bob.fetch("/api/import", { method: "POST", body: JSON.stringify(original), headers: { "content-type": "text/plain" } });
    expect(form.status).toBe(415);
  });
  it("round-trips a conversation branched in the chat: every version, and the branch shown", async () => {
    const res = await alice.fetch("/api/conversations", { method: "POST", json: {} });
    const id = ((await res.json()) as { conversation: { id: string } }).conversation.id;
    const png = await upload(alice, "red-circle.png", "image/png");
    await ask(alice, id, "What color is the circle?", png);
    await ask(alice, id, "What shape is red?");
    const first = (await exportJson(alice, id)).archive.conversations[0]!;
    // Regenerate the last answer, then edit the second question (a new branch, shown).
    await chat(alice, { id, trigger: "regenerate-message" });
    await chat(alice, { id, messageId: first.messages[2]!.id, message: userMessage("How many shapes are there?") });
    const source = (await exportJson(alice, id)).archive;
    expect(source.conversations[0]!.messages).toHaveLength(7);

    const imported = await importJson(bob, source);
    expect(imported.status).toBe(201);
    const copyId = imported.body.conversations[0]!.id;
    const copy = (await exportJson(bob, copyId)).archive.conversations[0]!;
    expect(canonical(unimported(copy))).toEqual(canonical(source.conversations[0]!));
    // The copy shows the edited branch, with both versions of the question to switch between.
    const shown = ((await (await bob.fetch(`/api/conversations/${copyId}/messages`)).json()) as {
      messages: { parts: { type: string; text?: string }[]; metadata?: { versions?: { ids: string[]; index: number } } }[];
    }).messages;
    expect(shown).toHaveLength(4);
    expect(shown[2]!.parts.at(-1)!.text).toBe("How many shapes are there?");
    expect(shown[2]!.metadata?.versions).toMatchObject({ index: 1 });
    expect(shown[2]!.metadata?.versions?.ids).toHaveLength(2);
  });
});
