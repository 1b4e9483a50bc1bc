import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { TestClient } from "../helpers/client";
import { rawRequest } from "../helpers/raw-request";

// Security headers on pages and APIs (what `curl -I` shows), the origin
// check on state-changing requests, and a canonical host that forged
// `Host` / `X-Forwarded-Host` headers cannot change.

const baseUrl = inject("baseUrl");
const port = new URL(baseUrl).port;
const png = fs.readFileSync(path.resolve(import.meta.dirname, "..", "fixtures", "red-circle.png"));

const COMMON = {
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
};

function expectCommonHeaders(res: Response, what: string) {
  for (const [name, value] of Object.entries(COMMON)) expect(res.headers.get(name), `${what}: ${name}`).toBe(value);
}

async function uploadImage(client: TestClient, headers: Record<string, string> = {}) {
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(png)], { type: "image/png" }), "red.png");
  return client.fetch("/api/uploads", { method: "POST", body: form, headers });
}

describe("security headers", () => {
  const alice = new TestClient(baseUrl);
  beforeAll(async () => {
    await alice.newAccount();
  });

  it("gives every page a strict CSP with a fresh nonce that its scripts carry", async () => {
    const nonces = new Set<string>();
    for (const page of ["/signin", "/signup", "/", "/settings", "/no-such-page"]) {
      const res = await alice.fetch(page);
      expect(res.status, page).toBeLessThan(500);
      expectCommonHeaders(res, page);
      const csp = res.headers.get("content-security-policy") ?? "";
      const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
      expect(nonce, `${page}: ${csp}`).toBeTruthy();
      expect(csp).toContain("'strict-dynamic'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("object-src 'none'");
      expect(csp).not.toMatch(/script-src[^;]*'unsafe-(inline|eval)'/);
      nonces.add(nonce!);
      // Every script the page ships carries this response's nonce (else the browser would refuse it).
      const html = await res.text();
      const scripts = html.match(/<script\b[^>]*>/g) ?? [];
      expect(scripts.length, page).toBeGreaterThan(0);
      for (const tag of scripts) expect(tag, page).toContain(`nonce="${nonce}"`);
      expect(res.headers.get("cache-control"), page).toMatch(/no-store/);
    }
    expect(nonces.size).toBe(5);
  });

  it("marks API responses private and inert: no-store, default-src 'none', nosniff, no framing", async () => {
    const anonymous = new TestClient(baseUrl);
    const cases: [string, TestClient, number][] = [
      ["/api/health", anonymous, 200],
      ["/api/conversations", alice, 200],
      ["/api/conversations", anonymous, 401],
      ["/api/keys", alice, 200],
      ["/api/auth/session", alice, 200],
      ["/api/auth/csrf", anonymous, 200],
      ["/v1/models", anonymous, 401],
      ["/api/nothing-here", anonymous, 404],
    ];
    for (const [url, client, status] of cases) {
      const res = await client.fetch(url);
      expect(res.status, url).toBe(status);
      expectCommonHeaders(res, url);
      expect(res.headers.get("cache-control"), url).toMatch(/no-store/);
      expect(res.headers.get("content-security-policy"), url).toMatch(/default-src 'none'|frame-ancestors 'none'/);
    }
  });

  it("lets an image keep its own private, immutable caching", async () => {
    const uploaded = await uploadImage(alice);
    expect(uploaded.headers.get("cache-control")).toBe("no-store, no-transform");
    expect((await alice.fetch("/api/uploads/no-such-image")).headers.get("cache-control")).toBe("no-store");
    const { attachment } = (await uploaded.json()) as { attachment: { url: string } };
    const res = await alice.fetch(attachment.url);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("private, max-age=31536000, immutable");
    expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; sandbox");
    expectCommonHeaders(res, attachment.url);
  });
});

describe("the origin check on state-changing requests", () => {
  const alice = new TestClient(baseUrl);
  beforeAll(async () => {
    await alice.newAccount();
  });
  const conversations = async () => ((await (await alice.fetch("/api/conversations")).json()) as { conversations: unknown[] }).conversations.length;

  it("refuses, with the user's cookie, what another site sends: conversations, uploads, chats, deletes", async () => {
    const before = await conversations();
    const evil = { origin: "http://evil.example" };
    // The defect as found: a text/plain POST from another origin created a conversation.
    const plain = await alice.fetch("/api/conversations", { method: "POST", headers: { ...evil, "content-type": "text/plain" }, body: "{}" });
    expect(plain.status).toBe(403);
    expect(((await plain.json()) as { error: { code: string } }).error.code).toBe("forbidden:origin");
    expect((await alice.fetch("/api/conversations", { method: "POST", headers: evil, json: {} })).status).toBe(403);
    expect((await uploadImage(alice, evil)).status).toBe(403);
    const chat = await alice.fetch("/api/chat", {
      method: "POST",
      headers: { ...evil, "content-type": "text/plain" },
      body: JSON.stringify({ id: "x", message: { role: "user", parts: [{ type: "text", text: "hi" }] } }),
    });
    expect(chat.status).toBe(403);
    // Another port on this machine is another origin (SameSite cookies do not stop it).
    const otherPort = { origin: `http://127.0.0.1:${Number(port) + 1}` };
    expect((await alice.fetch("/api/conversations", { method: "POST", headers: otherPort, json: {} })).status).toBe(403);
    // Without Origin, the Referer decides; Sec-Fetch-Site from the browser counts on its own; `Origin: null` is not ours.
    expect((await alice.fetch("/api/conversations", { method: "POST", headers: { referer: "http://evil.example/page" }, json: {} })).status).toBe(403);
    expect((await alice.fetch("/api/conversations", { method: "POST", headers: { "sec-fetch-site": "same-site" }, json: {} })).status).toBe(403);
    expect((await alice.fetch("/api/conversations", { method: "POST", headers: { origin: "null" }, json: {} })).status).toBe(403);
    expect(await conversations()).toBe(before);

    const mine = (await (await alice.fetch("/api/conversations", { method: "POST", json: {} })).json()) as { conversation: { id: string } };
    expect((await alice.fetch(`/api/conversations/${mine.conversation.id}`, { method: "DELETE", headers: evil })).status).toBe(403);
    expect((await alice.fetch(`/api/conversations/${mine.conversation.id}`)).status).toBe(200);
  });

  it("refuses next-auth's sign-in and sign-out from another site", async () => {
    const { csrfToken } = (await (await alice.fetch("/api/auth/csrf")).json()) as { csrfToken: string };
    const res = await alice.fetch("/api/auth/signout", {
      method: "POST",
      headers: { origin: "http://evil.example", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrfToken, json: "true" }).toString(),
    });
    expect(res.status).toBe(403);
    expect(await alice.session()).not.toBeNull();
  });

  it("accepts this app's origin under every loopback name, and clients that send no Origin (curl, SDKs)", async () => {
    for (const origin of [baseUrl, `http://localhost:${port}`, `http://[::1]:${port}`]) {
      const res = await alice.fetch("/api/conversations", { method: "POST", headers: { origin, "sec-fetch-site": "same-origin" }, json: {} });
      expect(res.status, origin).toBe(201);
    }
    expect((await alice.fetch("/api/conversations", { method: "POST", headers: { referer: `${baseUrl}/c/x` }, json: {} })).status).toBe(201);
    expect((await alice.fetch("/api/conversations", { method: "POST", json: {} })).status).toBe(201);
    expect((await uploadImage(alice, { origin: baseUrl })).status).toBe(201);
  });
});

describe("the canonical host (APP_URL)", () => {
  const forged = { host: "evil.example", "x-forwarded-host": "evil.example", "x-forwarded-proto": "https" };
  const noEvil = (res: { headers: Record<string, string | string[] | undefined>; body: string }) => {
    expect(String(res.headers.location ?? "")).not.toContain("evil");
    expect(String(res.headers["set-cookie"] ?? "")).not.toContain("evil");
    expect(res.body).not.toContain("evil.example");
  };

  it("never names a forged Host or X-Forwarded-Host in a redirect, a cookie or a sign-in answer", async () => {
    const client = new TestClient(baseUrl);
    const email = await client.newAccount();
    // A page that redirects to sign-in, and next-auth's own pages and redirects.
    for (const url of ["/", "/api/auth/signin", "/api/auth/signin?callbackUrl=%2Fsettings", "/api/auth/csrf", "/api/auth/providers", "/api/auth/signout"]) {
      const res = await rawRequest(`${baseUrl}${url}`, { method: "GET", headers: forged });
      expect(res.status, url).toBeLessThan(500);
      noEvil(res);
    }
    const csrf = await rawRequest(`${baseUrl}/api/auth/csrf`, { method: "GET", headers: forged });
    const { csrfToken } = JSON.parse(csrf.body) as { csrfToken: string };
    const csrfCookie = (csrf.headers["set-cookie"] ?? []).map((c) => c.split(";")[0]).join("; ");
    expect(csrf.headers["set-cookie"]?.join()).toContain(`next-auth.callback-url=${encodeURIComponent(baseUrl)}`);
    // Sign in and out with the forged headers, as a redirect and as JSON.
    for (const json of ["true", "false"]) {
      const body = new URLSearchParams({ csrfToken, email, password: "correct horse battery", json, callbackUrl: "/" }).toString();
      const signIn = await rawRequest(`${baseUrl}/api/auth/callback/credentials`, {
        headers: { ...forged, cookie: csrfCookie, "content-type": "application/x-www-form-urlencoded" },
        body,
      });
      expect(signIn.status, `sign-in json=${json}: ${signIn.body}`).toBe(json === "true" ? 200 : 302);
      noEvil(signIn);
      if (json === "true") expect(JSON.parse(signIn.body).url).toBe(`${baseUrl}/`);
      else expect(signIn.headers.location).toBe(`${baseUrl}/`);
    }
    const signOut = await rawRequest(`${baseUrl}/api/auth/signout`, {
      headers: { ...forged, cookie: csrfCookie, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrfToken, callbackUrl: "http://evil.example/" }).toString(),
    });
    noEvil(signOut);
  });
});
