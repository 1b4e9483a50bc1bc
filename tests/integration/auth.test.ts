import { randomUUID } from "node:crypto";
import { describe, expect, inject, it } from "vitest";
import { TestClient } from "../helpers/client";

const baseUrl = inject("baseUrl");
const email = () => `it-${randomUUID()}@example.test`;

describe("sign-up and sign-in", () => {
  it("signs up, signs in through next-auth and gets a session", async () => {
    const client = new TestClient(baseUrl);
    const address = email();
    const up = await client.signUp(address.toUpperCase(), "hunter2hunter2", "Ada");
    expect(up.status).toBe(201);
    const { user } = await up.json();
    expect(user).toMatchObject({ email: address, name: "Ada" });
    expect(user).not.toHaveProperty("passwordHash");

    expect(await client.session()).toBeNull();
    const signIn = await client.signIn(address, "hunter2hunter2");
    expect(signIn.status).toBe(200);
    expect((await client.session())?.user).toMatchObject({ id: user.id, email: address });

    await client.fetch("/api/auth/signout", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        csrfToken: ((await (await client.fetch("/api/auth/csrf")).json()) as { csrfToken: string }).csrfToken,
        json: "true",
      }).toString(),
    });
    expect(await client.session()).toBeNull();
  });

  it("refuses a wrong password without creating a session", async () => {
    const client = new TestClient(baseUrl);
    const address = email();
    await client.signUp(address, "right-password");
    const res = await client.signIn(address, "wrong-password");
    expect(res.status).toBe(401);
    expect(await client.session()).toBeNull();
  });

  it("answers a duplicate email with a clear 409", async () => {
    const client = new TestClient(baseUrl);
    const address = email();
    expect((await client.signUp(address, "password-one")).status).toBe(201);
    const again = await client.signUp(address, "password-two");
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual({
      error: { code: "conflict:signup", message: "An account with this email already exists." },
    });
  });

  it("answers malformed JSON and wrong field types with 400 and the zod issue", async () => {
    const client = new TestClient(baseUrl);
    const broken = await client.fetch("/api/signup", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"email": "a@b.c", ',
    });
    expect(broken.status).toBe(400);
    expect((await broken.json()).error.message).toMatch(/valid JSON/);

    const wrongType = await client.fetch("/api/signup", { method: "POST", json: { email: 42, password: ["x"] } });
    expect(wrongType.status).toBe(400);
    const body = await wrongType.json();
    expect(body.error.code).toBe("bad_request:api");
    expect(body.error.details.map((d: { path: string[] }) => d.path.join("."))).toEqual(
      expect.arrayContaining(["email", "password"]),
    );

    const short = await client.fetch("/api/signup", { method: "POST", json: { email: email(), password: "short" } });
    expect(short.status).toBe(400);
    expect((await short.json()).error.message).toBe("password: must be at least 8 characters");
  });
});

describe("session required", () => {
  const anonymous = new TestClient(baseUrl);

  it.each([
    ["GET", "/api/conversations"],
    ["POST", "/api/conversations"],
    ["GET", "/api/conversations/some-id"],
    ["PATCH", "/api/conversations/some-id"],
    ["DELETE", "/api/conversations/some-id"],
  ])("%s %s answers 401 without a session", async (method, path) => {
    const res = await anonymous.fetch(path, { method, json: method === "GET" || method === "DELETE" ? undefined : {} });
    expect(res.status).toBe(401);
    expect((await res.json()).error.code).toBe("unauthorized:auth");
  });

  it("sends a visitor without a session from the app to sign-in", async () => {
    const res = await anonymous.fetch("/");
    expect([303, 307, 308]).toContain(res.status);
    expect(res.headers.get("location")).toMatch(/\/signin$/);
    expect((await anonymous.fetch("/signin")).status).toBe(200);
    expect((await anonymous.fetch("/signup")).status).toBe(200);
  });

  it("keeps health public and free of secrets", async () => {
    const res = await anonymous.fetch("/api/health");
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ status: "ok", database: "ok" });
    expect(JSON.stringify(body)).not.toMatch(/secret|password|file:/i);
  });
});

describe("sign-in rate limits", () => {
  it("stops one address after 8 wrong passwords for an account, slowing each failure more, while the owner elsewhere gets in", async () => {
    const address = email();
    await new TestClient(baseUrl).signUp(address, "the-right-one");
    const attacker = "10.251.1.1";
    const took: number[] = [];
    for (let i = 0; i < 8; i++) {
      const started = Date.now();
      expect((await new TestClient(baseUrl, attacker).signIn(address, `wrong-${i}`)).status).toBe(401);
      took.push(Date.now() - started);
    }
    // Each failure delays the next attempt more: about 0, 0.25, 0.5, 1, 2, 4, 4, 4 s.
    expect(took[4]! - took[0]!).toBeGreaterThan(1500);
    expect(took[5]!).toBeGreaterThan(took[3]! + 1000);
    const blocked = await new TestClient(baseUrl, attacker).signIn(address, "the-right-one");
    expect(decodeURIComponent((await blocked.json()).url)).toMatch(/Too many attempts/);

    // The owner at another address waits a few seconds at most, and is in.
    const owner = new TestClient(baseUrl);
    const started = Date.now();
    await owner.signIn(address, "the-right-one");
    expect(Date.now() - started).toBeLessThan(6000);
    expect((await owner.session())?.user?.email).toBe(address);
    // A success clears the failures: the next attempt is not delayed.
    const again = Date.now();
    expect((await new TestClient(baseUrl).signIn(address, "wrong-again")).status).toBe(401);
    expect(Date.now() - again).toBeLessThan(1000);
  });

  it("limits one client address to 30 attempts across emails", async () => {
    const ip = "10.250.250.250";
    for (let i = 0; i < 30; i++) {
      expect((await new TestClient(baseUrl, ip).signIn(email(), "nope-nope")).status).toBe(401);
    }
    const blocked = await new TestClient(baseUrl, ip).signIn(email(), "nope-nope");
    expect(decodeURIComponent((await blocked.json()).url)).toMatch(/Too many attempts/);
    // Another address is unaffected.
    expect((await new TestClient(baseUrl).signIn(email(), "nope-nope")).status).toBe(401);
  });
});

describe("sign-up rate limit", () => {
  it("answers the 21st sign-up from one address with 429 and Retry-After, never a server error", async () => {
    const client = new TestClient(baseUrl);
    for (let i = 0; i < 20; i++) expect((await client.signUp(`limit-${i}-${client.ip}@example.test`, "correct horse battery")).status).toBe(201);
    const res = await client.signUp(`limit-last-${client.ip}@example.test`, "correct horse battery");
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/Too many/);
  });
});

describe("revoking sessions", () => {
  it("sign out everywhere: a session token copied before no longer works on API routes", async () => {
    const owner = new TestClient(baseUrl);
    const address = await owner.newAccount("sign-out-everywhere");
    const copied = owner.copy();
    expect((await copied.fetch("/api/conversations")).status).toBe(200);

    expect((await owner.fetch("/api/sessions", { method: "DELETE" })).status).toBe(204);
    expect((await copied.fetch("/api/conversations")).status).toBe(401);
    expect((await owner.fetch("/api/conversations")).status).toBe(401);
    expect((await copied.session())?.user).toBeUndefined();

    // Signing in again works: a new token carries the new version.
    await owner.signIn(address, "sign-out-everywhere");
    expect((await owner.fetch("/api/conversations")).status).toBe(200);
    expect((await copied.fetch("/api/conversations")).status).toBe(401);
  });

  it("plain sign-out ends that session only, copies of it included", async () => {
    const laptop = new TestClient(baseUrl);
    const address = await laptop.newAccount("one-device-only");
    const phone = new TestClient(baseUrl);
    await phone.signIn(address, "one-device-only");
    const copied = laptop.copy();

    expect((await laptop.signOut()).status).toBe(200);
    expect((await laptop.fetch("/api/conversations")).status).toBe(401);
    expect((await copied.fetch("/api/conversations")).status).toBe(401);
    expect((await phone.fetch("/api/conversations")).status).toBe(200);
  });
});
