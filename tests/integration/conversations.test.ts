import { beforeAll, describe, expect, inject, it } from "vitest";
import { TestClient } from "../helpers/client";

const baseUrl = inject("baseUrl");

async function create(client: TestClient, title: string) {
  const res = await client.fetch("/api/conversations", { method: "POST", json: { title } });
  expect(res.status).toBe(201);
  return (await res.json()).conversation as { id: string; title: string };
}

describe("conversations API", () => {
  const alice = new TestClient(baseUrl);
  const bob = new TestClient(baseUrl);
  beforeAll(async () => {
    await alice.newAccount();
    await bob.newAccount();
  });

  it("lists newest first with cursor paging", async () => {
    const client = new TestClient(baseUrl);
    await client.newAccount();
    for (const title of ["one", "two", "three", "four", "five"]) await create(client, title);

    const titles: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await client.fetch(`/api/conversations?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { conversations: { title: string }[]; nextCursor: string | null };
      expect(page.conversations.length).toBeLessThanOrEqual(2);
      titles.push(...page.conversations.map((c) => c.title));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(titles).toEqual(["five", "four", "three", "two", "one"]);
    expect(pages).toBe(3);
  });

  it("reads, renames and deletes one's own conversation", async () => {
    const { id } = await create(alice, "Holiday photos");
    const got = await alice.fetch(`/api/conversations/${id}`);
    expect(got.status).toBe(200);
    expect((await got.json()).conversation).toMatchObject({ id, title: "Holiday photos", messages: [] });

    const renamed = await alice.fetch(`/api/conversations/${id}`, { method: "PATCH", json: { title: "  Beach  " } });
    expect(renamed.status).toBe(200);
    expect((await renamed.json()).conversation.title).toBe("Beach");

    expect((await alice.fetch(`/api/conversations/${id}`, { method: "DELETE" })).status).toBe(204);
    expect((await alice.fetch(`/api/conversations/${id}`)).status).toBe(404);
  });

  it("answers 404 to another user's id on read, rename and delete, and changes nothing", async () => {
    const { id } = await create(alice, "Private");
    for (const [method, json] of [
      ["GET", undefined],
      ["PATCH", { title: "pwned" }],
      ["DELETE", undefined],
    ] as const) {
      const res = await bob.fetch(`/api/conversations/${id}`, { method, json });
      expect(res.status, method).toBe(404);
      expect((await res.json()).error).toEqual({ code: "not_found:conversation", message: "Conversation not found." });
    }
    const list = await (await bob.fetch("/api/conversations")).json();
    expect(list.conversations.map((c: { id: string }) => c.id)).not.toContain(id);
    const still = await (await alice.fetch(`/api/conversations/${id}`)).json();
    expect(still.conversation.title).toBe("Private");
  });

  it("answers invalid input with 400, never 500", async () => {
    const { id } = await create(alice, "Valid");
    const cases: [string, RequestInit & { json?: unknown }][] = [
      [`/api/conversations/${id}`, { method: "PATCH", json: { title: 5 } }],
      [`/api/conversations/${id}`, { method: "PATCH", json: {} }],
      [`/api/conversations/${id}`, { method: "PATCH", body: "not json", headers: { "content-type": "application/json" } }],
      ["/api/conversations", { method: "POST", json: { title: "" } }],
      ["/api/conversations", { method: "POST", json: [] }],
      ["/api/conversations?limit=0", { method: "GET" }],
      ["/api/conversations?limit=abc", { method: "GET" }],
    ];
    for (const [path, init] of cases) {
      const res = await alice.fetch(path, init);
      expect(res.status, `${init.method} ${path} ${JSON.stringify(init.json ?? init.body)}`).toBe(400);
      expect((await res.json()).error.code).toBe("bad_request:api");
    }
  });
});
