import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TestClient } from "../helpers/client";
import { startServer } from "../helpers/server";

describe("npm start on an existing data directory", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-restart-"));
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it("keeps users and conversations, applies no migration the second time and reuses the secret", async () => {
    const first = await startServer({ dataDir });
    expect(first.output()).toMatch(/All migrations have been successfully applied|migrations? (?:have been )?applied/i);
    const secretFile = path.join(dataDir, "auth-secret");
    expect(fs.statSync(secretFile).mode & 0o777).toBe(0o600);
    const secret = fs.readFileSync(secretFile, "utf8");

    const client = new TestClient(first.url);
    const email = await client.newAccount("kept-password");
    const created = await client.fetch("/api/conversations", { method: "POST", json: { title: "Survives restarts" } });
    const { id } = (await created.json()).conversation;
    await first.stop();

    const second = await startServer({ dataDir });
    try {
      expect(second.output()).toMatch(/No pending migrations to apply/);
      expect(fs.readFileSync(secretFile, "utf8")).toBe(secret);
      const again = new TestClient(second.url);
      await again.signIn(email, "kept-password");
      const got = await again.fetch(`/api/conversations/${id}`);
      expect(got.status).toBe(200);
      expect((await got.json()).conversation.title).toBe("Survives restarts");
    } finally {
      await second.stop();
    }
  });

  it("stops at start-up with one line naming a wrong variable", async () => {
    await expect(startServer({ dataDir, env: { GPU: "quantum" }, timeoutMs: 30_000 })).rejects.toThrow(
      /Invalid configuration: GPU="quantum"/,
    );
  });
});
