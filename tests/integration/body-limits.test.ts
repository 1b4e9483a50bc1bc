import fs from "node:fs";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { TestClient } from "../helpers/client";
import { rawRequest } from "../helpers/raw-request";

// Every route that reads a body refuses one over its limit (413) from the
// declared Content-Length before reading it, and a chunked one as soon as
// the count passes the limit, so a huge body never grows the server's memory.

const baseUrl = inject("baseUrl");
const port = new URL(baseUrl).port;
const MiB = 1024 * 1024;

/** The pid of the test server's `scripts/server.mjs` (the process that holds request bodies). */
function serverPid(): number {
  for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!cmdline.includes("scripts/server.mjs")) continue;
      if (fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`PORT=${port}`)) return Number(pid);
    } catch {
      /* gone, or not ours */
    }
  }
  throw new Error(`no server.mjs process for port ${port}`);
}

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

describe("request body limits", () => {
  const alice = new TestClient(baseUrl);
  let cookie: string;
  beforeAll(async () => {
    await alice.newAccount();
    cookie = alice.cookieHeader();
  });

  it("refuses a 500 MB chunked sign-up at once, without the server's memory growing", async () => {
    const pid = serverPid();
    const before = rssMiB(pid);
    const res = await rawRequest(`${baseUrl}/api/signup`, { headers: { "content-type": "application/json" }, streamBytes: 500 * MiB });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error).toEqual({ code: "payload_too_large:api", message: "The request body is larger than the 64 KiB limit." });
    // Refused after the first chunks, not after the whole body (it was buffered whole before: +2.3 GB).
    expect(res.bytesSent).toBeLessThan(64 * MiB);
    expect(rssMiB(pid) - before).toBeLessThan(100);
  });

  it("holds at most 64 KiB of a large POST to a page (Next.js copies page request bodies for proxy.ts)", async () => {
    const pid = serverPid();
    const before = rssMiB(pid);
    for (const page of ["/", "/signin"]) {
      const res = await rawRequest(`${baseUrl}${page}`, { headers: { cookie, "content-type": "text/plain" }, streamBytes: 200 * MiB });
      expect(res.status, page).toBeLessThan(500);
    }
    expect(rssMiB(pid) - before).toBeLessThan(100);
  });

  // Each route with its limit: a declared length one byte over is refused before any body is sent.
  it.each([
    ["/api/signup", 64 * 1024, false],
    ["/api/conversations", 64 * 1024, true],
    ["/api/presets", 64 * 1024, true],
    ["/api/keys", 64 * 1024, true],
    ["/api/models", 64 * 1024, true],
    ["/api/conversations/x/branch", 64 * 1024, true],
    // 65 text parts of 32,000 characters, 3 bytes each, plus JSON.
    ["/api/chat", 65 * (32_000 * 3 + 1024) + 4096, true],
    // UPLOAD_MAX_BYTES (2 MiB on the test server) plus 64 KiB of multipart framing.
    ["/api/uploads", 2 * MiB + 64 * 1024, true],
    // IMPORT_MAX_BYTES (8 MiB on the test server).
    ["/api/import", 8 * MiB, true],
    ["/api/auth/callback/credentials", 64 * 1024, false],
  ])("%s refuses a declared %i + 1 bytes before reading them", async (path, limit, signedIn) => {
    const headers: Record<string, string> = { "content-type": "application/json", "content-length": String(limit + 1) };
    if (signedIn) headers.cookie = cookie;
    const res = await rawRequest(`${baseUrl}${path}`, { headers });
    expect(res.status).toBe(413);
    expect(res.bytesSent).toBe(0);
  });

  it("PATCH /api/conversations/:id has the same limit", async () => {
    const res = await rawRequest(`${baseUrl}/api/conversations/x`, {
      method: "PATCH",
      headers: { cookie, "content-type": "application/json", "content-length": String(64 * 1024 + 1) },
    });
    expect(res.status).toBe(413);
  });

  it("refuses a chunked body over the limit while it streams in, on next-auth's sign-in too", async () => {
    for (const path of ["/api/conversations", "/api/auth/callback/credentials"]) {
      const type = path.startsWith("/api/auth") ? "application/x-www-form-urlencoded" : "application/json";
      const res = await rawRequest(`${baseUrl}${path}`, { headers: { cookie, "content-type": type }, streamBytes: 50 * MiB });
      expect(res.status, path).toBe(413);
      expect(res.bytesSent, path).toBeLessThan(50 * MiB);
    }
  });

  it("still accepts the largest body a schema allows (an 8,000-character system prompt of 3-byte characters)", async () => {
    const res = await alice.fetch("/api/presets", { method: "POST", json: { name: "long", systemPrompt: "€".repeat(8000) } });
    // Read whole and judged on its content: saved, or (with the demo model's 4k context) refused as too long a prompt.
    expect([201, 400]).toContain(res.status);
    if (res.status === 400) expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/system prompt is too long/);
  });

  it("answers anything but application/json on a JSON route with 415", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const res = await alice.fetch("/api/conversations", { method: "POST", headers: { "content-type": type }, body: "{}" });
      expect(res.status, type).toBe(415);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unsupported_media_type:api");
    }
    // A charset parameter is fine.
    const ok = await alice.fetch("/api/conversations", { method: "POST", headers: { "content-type": "application/json; charset=utf-8" }, body: "{}" });
    expect(ok.status).toBe(201);
  });
});
