import { beforeAll, describe, expect, inject, it } from "vitest";
import { TestClient } from "../helpers/client";

// Organising the sidebar (issue 24), through the real route handlers and
// database: folders, moving a chat into one, pins, the archive, and each
// user's theme, with another user's ids answered 404 and bad input 400.

const baseUrl = inject("baseUrl");

interface Summary {
  id: string;
  title: string;
  folderId: string | null;
  pinnedAt: string | null;
  archivedAt: string | null;
  updatedAt: string;
}
interface Folder {
  id: string;
  name: string;
  collapsed: boolean;
  conversations: { id: string; title: string }[];
}

async function create(client: TestClient, title: string): Promise<Summary> {
  const res = await client.fetch("/api/conversations", { method: "POST", json: { title } });
  expect(res.status).toBe(201);
  return (await res.json()).conversation as Summary;
}

async function patch(client: TestClient, id: string, json: unknown): Promise<Summary> {
  const res = await client.fetch(`/api/conversations/${id}`, { method: "PATCH", json });
  expect(res.status, JSON.stringify(json)).toBe(200);
  return (await res.json()).conversation as Summary;
}

async function list(client: TestClient, query = ""): Promise<Summary[]> {
  const res = await client.fetch(`/api/conversations?limit=100${query}`);
  expect(res.status, query).toBe(200);
  return (await res.json()).conversations as Summary[];
}

async function folders(client: TestClient): Promise<Folder[]> {
  const res = await client.fetch("/api/folders");
  expect(res.status).toBe(200);
  return (await res.json()).folders as Folder[];
}

async function newFolder(client: TestClient, name: string): Promise<Folder> {
  const res = await client.fetch("/api/folders", { method: "POST", json: { name } });
  expect(res.status).toBe(201);
  return (await res.json()).folder as Folder;
}

const ids = (items: { id: string }[]) => items.map((c) => c.id);

describe("organising conversations", () => {
  const alice = new TestClient(baseUrl);
  const bob = new TestClient(baseUrl);
  beforeAll(async () => {
    await alice.newAccount();
    await bob.newAccount();
  });

  it("creates, lists by name, renames, collapses and deletes folders", async () => {
    const client = new TestClient(baseUrl);
    await client.newAccount();
    expect(await folders(client)).toEqual([]);
    const work = await newFolder(client, "  Work  ");
    expect(work).toMatchObject({ name: "Work", collapsed: false });
    await newFolder(client, "Holidays");
    expect((await folders(client)).map((f) => f.name)).toEqual(["Holidays", "Work"]);

    const renamed = await client.fetch(`/api/folders/${work.id}`, { method: "PATCH", json: { name: "Office" } });
    expect(renamed.status).toBe(200);
    expect((await renamed.json()).folder).toMatchObject({ id: work.id, name: "Office", collapsed: false });
    const collapsed = await client.fetch(`/api/folders/${work.id}`, { method: "PATCH", json: { collapsed: true } });
    expect((await collapsed.json()).folder).toMatchObject({ name: "Office", collapsed: true });
    expect((await folders(client)).find((f) => f.id === work.id)).toMatchObject({ name: "Office", collapsed: true, conversations: [] });

    expect((await client.fetch(`/api/folders/${work.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await folders(client)).map((f) => f.name)).toEqual(["Holidays"]);
    expect((await client.fetch(`/api/folders/${work.id}`, { method: "DELETE" })).status).toBe(404);
  });

  it("moves a chat into a folder and back, without counting it as activity", async () => {
    const folder = await newFolder(alice, "Receipts");
    const older = await create(alice, "Older chat");
    const chat = await create(alice, "Taxi receipt");
    expect(ids(await list(alice))).toEqual(expect.arrayContaining([chat.id, older.id]));

    const moved = await patch(alice, chat.id, { folderId: folder.id });
    expect(moved.folderId).toBe(folder.id);
    expect(moved.updatedAt).toBe(chat.updatedAt);
    // Out of the dated list, into the folder (both in GET /api/folders and in its own view).
    expect(ids(await list(alice))).not.toContain(chat.id);
    expect((await folders(alice)).find((f) => f.id === folder.id)!.conversations.map((c) => c.title)).toEqual(["Taxi receipt"]);
    expect(ids(await list(alice, `&view=folder&folderId=${folder.id}`))).toEqual([chat.id]);
    // It still opens, and search still finds it.
    expect((await alice.fetch(`/api/conversations/${chat.id}`)).status).toBe(200);
    expect(ids(await list(alice, "&q=taxi"))).toEqual([chat.id]);

    const back = await patch(alice, chat.id, { folderId: null });
    expect(back.folderId).toBeNull();
    const main = ids(await list(alice));
    // Back at its old place among the dates: newer than the older chat.
    expect(main.indexOf(chat.id)).toBeLessThan(main.indexOf(older.id));
    expect((await folders(alice)).find((f) => f.id === folder.id)!.conversations).toEqual([]);
  });

  it("deleting a folder puts its chats back at the top level and deletes none", async () => {
    const folder = await newFolder(alice, "Short-lived");
    const a = await create(alice, "Kept one");
    const b = await create(alice, "Kept two");
    await patch(alice, a.id, { folderId: folder.id });
    await patch(alice, b.id, { folderId: folder.id });
    expect(ids(await list(alice))).not.toContain(a.id);

    expect((await alice.fetch(`/api/folders/${folder.id}`, { method: "DELETE" })).status).toBe(204);
    for (const c of [a, b]) {
      const res = await alice.fetch(`/api/conversations/${c.id}`);
      expect(res.status).toBe(200);
      const { conversation } = await res.json();
      expect(conversation.folderId).toBeNull();
      expect(conversation.updatedAt).toBe(c.updatedAt);
    }
    expect(ids(await list(alice))).toEqual(expect.arrayContaining([a.id, b.id]));
    expect(ids(await folders(alice))).not.toContain(folder.id);
  });

  it("pins to the top of the list, newest pin first, also from a folder, and unpins", async () => {
    const client = new TestClient(baseUrl);
    await client.newAccount();
    const first = await create(client, "first");
    const second = await create(client, "second");
    await create(client, "third");
    expect((await list(client)).map((c) => c.title)).toEqual(["third", "second", "first"]);

    const pinned = await patch(client, first.id, { pinned: true });
    expect(pinned.pinnedAt).not.toBeNull();
    expect(pinned.updatedAt).toBe(first.updatedAt);
    expect((await list(client)).map((c) => c.title)).toEqual(["first", "third", "second"]);

    // A pinned chat in a folder shows among the pinned ones, not in its folder.
    const folder = await newFolder(client, "Box");
    await patch(client, second.id, { folderId: folder.id });
    expect((await list(client)).map((c) => c.title)).toEqual(["first", "third"]);
    await patch(client, second.id, { pinned: true });
    expect((await list(client)).map((c) => c.title)).toEqual(["second", "first", "third"]);
    expect((await folders(client))[0]!.conversations).toEqual([]);

    // Paging keeps the pinned ones first.
    const page = await client.fetch("/api/conversations?limit=2");
    const { conversations, nextCursor } = await page.json();
    expect(conversations.map((c: Summary) => c.title)).toEqual(["second", "first"]);
    const rest = await (await client.fetch(`/api/conversations?limit=2&cursor=${nextCursor}`)).json();
    expect(rest.conversations.map((c: Summary) => c.title)).toEqual(["third"]);

    await patch(client, second.id, { pinned: false });
    await patch(client, first.id, { pinned: false });
    expect((await list(client)).map((c) => c.title)).toEqual(["third", "first"]);
    expect((await folders(client))[0]!.conversations.map((c) => c.title)).toEqual(["second"]);
  });

  it("archives: out of the lists, in the archive, still opened, searched and exported; unarchived back to its folder", async () => {
    const client = new TestClient(baseUrl);
    await client.newAccount();
    const folder = await newFolder(client, "Trips");
    const chat = await create(client, "Lighthouse trip");
    const other = await create(client, "Other");
    await patch(client, chat.id, { folderId: folder.id });

    const archived = await patch(client, chat.id, { archived: true });
    expect(archived.archivedAt).not.toBeNull();
    expect(archived.folderId).toBe(folder.id);
    expect(ids(await list(client))).toEqual([other.id]);
    expect((await folders(client))[0]!.conversations).toEqual([]);
    expect(ids(await list(client, "&view=archived"))).toEqual([chat.id]);

    const opened = await client.fetch(`/api/conversations/${chat.id}`);
    expect(opened.status).toBe(200);
    expect((await opened.json()).conversation.archivedAt).not.toBeNull();
    const found = await list(client, "&q=lighthouse");
    expect(found.map((c) => [c.id, c.archivedAt !== null])).toEqual([[chat.id, true]]);
    const exported = await client.fetch("/api/export?format=json");
    expect(exported.status).toBe(200);
    expect(((await exported.json()).conversations as { title: string }[]).map((c) => c.title).sort()).toEqual(["Lighthouse trip", "Other"]);

    const back = await patch(client, chat.id, { archived: false });
    expect(back.archivedAt).toBeNull();
    expect(back.updatedAt).toBe(chat.updatedAt);
    expect(await list(client, "&view=archived")).toEqual([]);
    expect((await folders(client))[0]!.conversations.map((c) => c.id)).toEqual([chat.id]);

    // A pinned chat archived leaves the pinned list too, and comes back pinned.
    await patch(client, other.id, { pinned: true });
    await patch(client, other.id, { archived: true });
    expect(ids(await list(client))).toEqual([]);
    const unarchived = await patch(client, other.id, { archived: false });
    expect(unarchived.pinnedAt).not.toBeNull();
    expect(ids(await list(client))).toEqual([other.id]);
  });

  it("remembers each user's theme and renders it into the page's <html>", async () => {
    const client = new TestClient(baseUrl);
    await client.newAccount();
    const theme = async () => (await (await client.fetch("/api/account")).json()).account.theme as string;
    const htmlTag = async () => /<html[^>]*>/.exec(await (await client.fetch("/settings")).text())?.[0] ?? "";
    expect(await theme()).toBe("system");
    expect(await htmlTag()).not.toContain("data-theme");

    for (const t of ["dark", "light"]) {
      const res = await client.fetch("/api/account", { method: "PATCH", json: { theme: t } });
      expect(res.status).toBe(200);
      expect((await res.json()).account.theme).toBe(t);
      expect(await theme()).toBe(t);
      expect(await htmlTag()).toContain(`data-theme="${t}"`);
    }
    // Changing the name leaves the theme; and the theme is this user's only.
    const named = await client.fetch("/api/account", { method: "PATCH", json: { name: "Themed" } });
    expect((await named.json()).account).toMatchObject({ name: "Themed", theme: "light" });
    expect((await (await bob.fetch("/api/account")).json()).account.theme).toBe("system");

    expect((await client.fetch("/api/account", { method: "PATCH", json: { theme: "system" } })).status).toBe(200);
    expect(await htmlTag()).not.toContain("data-theme");
    // Signed out: no theme, no error.
    const anonymous = new TestClient(baseUrl);
    const signin = await anonymous.fetch("/signin");
    expect(signin.status).toBe(200);
    expect(/<html[^>]*>/.exec(await signin.text())?.[0]).not.toContain("data-theme");
  });

  it("answers 404 to another user's folder or conversation, and changes nothing", async () => {
    const folder = await newFolder(alice, "Alice's");
    const aliceChat = await create(alice, "Alice's chat");
    await patch(alice, aliceChat.id, { folderId: folder.id });
    const bobChat = await create(bob, "Bob's chat");

    const notFolder = { code: "not_found:folder", message: "Folder not found." };
    for (const [method, json] of [
      ["PATCH", { name: "pwned" }],
      ["PATCH", { collapsed: true }],
      ["DELETE", undefined],
    ] as const) {
      const res = await bob.fetch(`/api/folders/${folder.id}`, { method, json });
      expect(res.status, `${method} ${JSON.stringify(json)}`).toBe(404);
      expect((await res.json()).error).toEqual(notFolder);
    }
    const view = await bob.fetch(`/api/conversations?view=folder&folderId=${folder.id}`);
    expect(view.status).toBe(404);
    expect((await view.json()).error).toEqual(notFolder);
    // Bob cannot file his chat in Alice's folder…
    const into = await bob.fetch(`/api/conversations/${bobChat.id}`, { method: "PATCH", json: { folderId: folder.id } });
    expect(into.status).toBe(404);
    expect((await into.json()).error).toEqual(notFolder);
    expect((await (await bob.fetch(`/api/conversations/${bobChat.id}`)).json()).conversation.folderId).toBeNull();
    // …nor pin, archive or move Alice's chat.
    for (const json of [{ pinned: true }, { archived: true }, { folderId: null }]) {
      const res = await bob.fetch(`/api/conversations/${aliceChat.id}`, { method: "PATCH", json });
      expect(res.status, JSON.stringify(json)).toBe(404);
      expect((await res.json()).error.code).toBe("not_found:conversation");
    }
    expect(await folders(bob)).toEqual([]);
    expect(ids(await list(bob, "&view=archived"))).toEqual([]);

    const still = (await folders(alice)).find((f) => f.id === folder.id)!;
    expect(still).toMatchObject({ name: "Alice's", collapsed: false });
    expect(still.conversations.map((c) => c.id)).toEqual([aliceChat.id]);
    const chat = (await (await alice.fetch(`/api/conversations/${aliceChat.id}`)).json()).conversation;
    expect(chat).toMatchObject({ folderId: folder.id, pinnedAt: null, archivedAt: null });
  });

  it("needs a session for every folder route", async () => {
    const anonymous = new TestClient(baseUrl);
    for (const [method, path, json] of [
      ["GET", "/api/folders", undefined],
      ["POST", "/api/folders", { name: "x" }],
      ["PATCH", "/api/folders/some-id", { name: "x" }],
      ["DELETE", "/api/folders/some-id", undefined],
      ["GET", "/api/conversations?view=archived", undefined],
    ] as const) {
      const res = await anonymous.fetch(path, { method, json });
      expect(res.status, `${method} ${path}`).toBe(401);
    }
  });

  it("answers invalid input with 400, never 500, and changes nothing", async () => {
    const folder = await newFolder(alice, "Valid");
    const chat = await create(alice, "Valid chat");
    const cases: [string, RequestInit & { json?: unknown }][] = [
      ["/api/folders", { method: "POST", json: { name: "" } }],
      ["/api/folders", { method: "POST", json: { name: "   " } }],
      ["/api/folders", { method: "POST", json: { name: "x".repeat(101) } }],
      ["/api/folders", { method: "POST", json: {} }],
      ["/api/folders", { method: "POST", json: [] }],
      ["/api/folders", { method: "POST", json: { name: "ok", userId: "someone" } }],
      ["/api/folders", { method: "POST", body: "not json", headers: { "content-type": "application/json" } }],
      [`/api/folders/${folder.id}`, { method: "PATCH", json: {} }],
      [`/api/folders/${folder.id}`, { method: "PATCH", json: { collapsed: "yes" } }],
      [`/api/folders/${folder.id}`, { method: "PATCH", json: { name: "" } }],
      [`/api/conversations/${chat.id}`, { method: "PATCH", json: { pinned: "yes" } }],
      [`/api/conversations/${chat.id}`, { method: "PATCH", json: { archived: 1 } }],
      [`/api/conversations/${chat.id}`, { method: "PATCH", json: { folderId: "" } }],
      [`/api/conversations/${chat.id}`, { method: "PATCH", json: { folderId: 5 } }],
      [`/api/conversations/${chat.id}`, { method: "PATCH", json: { pinnedAt: "2020-01-01" } }],
      ["/api/conversations?view=bogus", { method: "GET" }],
      ["/api/conversations?view=folder", { method: "GET" }],
      [`/api/conversations?folderId=${folder.id}`, { method: "GET" }],
      ["/api/account", { method: "PATCH", json: { theme: "blue" } }],
      ["/api/account", { method: "PATCH", json: { theme: null } }],
      ["/api/account", { method: "PATCH", json: {} }],
    ];
    for (const [path, init] of cases) {
      const res = await alice.fetch(path, init);
      expect(res.status, `${init.method} ${path} ${JSON.stringify(init.json ?? init.body)}`).toBe(400);
      expect((await res.json()).error.code).toBe("bad_request:api");
    }
    expect((await folders(alice)).find((f) => f.id === folder.id)).toMatchObject({ name: "Valid", collapsed: false });
    expect((await (await alice.fetch(`/api/conversations/${chat.id}`)).json()).conversation).toMatchObject({ folderId: null, pinnedAt: null, archivedAt: null });
    expect((await (await alice.fetch("/api/account")).json()).account.theme).toBe("system");
    // Unknown folder ids are 404, not 400.
    expect((await alice.fetch(`/api/conversations/${chat.id}`, { method: "PATCH", json: { folderId: "nope" } })).status).toBe(404);
    expect((await alice.fetch("/api/folders/nope", { method: "PATCH", json: { name: "x" } })).status).toBe(404);
  });
});
