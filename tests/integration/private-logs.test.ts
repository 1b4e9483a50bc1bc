import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { chat, newConversation, uploadFixture, userMessage } from "../helpers/chat";
import { TestClient } from "../helpers/client";
import { startServer, type RunningServer } from "../helpers/server";

// The server log must never hold what users wrote. Native code (llama.cpp,
// libmtmd, the llama.node binding) prints the whole prompt at each image
// turn; llama-server does too, into its own pipe. A distinctive phrase in the
// system prompt and in the question must not appear anywhere in what the
// server printed, for both engines.

for (const engine of ["in-process", "llama-server"] as const) {
  describe(`the server log (ENGINE=${engine})`, () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-logs-"));
    let server: RunningServer | undefined;
    afterAll(async () => {
      await server?.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it("holds neither the system prompt nor the question of an image turn", async () => {
      server = await startServer({ dataDir, env: { ENGINE: engine, TRUST_PROXY: "true" } });
      const client = new TestClient(server.url);
      await client.newAccount();
      const inSystem = `sys-${randomUUID()}`;
      const inQuestion = `ask-${randomUUID()}`;
      const id = await newConversation(client);
      const patched = await client.fetch(`/api/conversations/${id}`, {
        method: "PATCH",
        json: { systemPrompt: `You are terse. Secret ${inSystem}.` },
      });
      expect(patched.status).toBe(200);
      const image = await uploadFixture(client, "red-circle.png", "image/png");
      for (const question of [`What color is the shape? ${inQuestion}`, `And its shape? ${inQuestion}`]) {
        const r = await chat(client, { id, message: userMessage(question, [image]) });
        expect(r.status).toBe(200);
        expect(r.chunks.map((c) => c.type)).toContain("finish");
      }
      // Native stdout is block-buffered: give its last block time to arrive.
      await new Promise((r) => setTimeout(r, 500));

      const log = server.output();
      // The app's own output still comes through…
      expect(log).toMatch(/Ready on http:\/\/127\.0\.0\.1/);
      expect(log).toMatch(/\[engine\] ready/);
      // …but not a word of the conversation.
      expect(log).not.toContain(inSystem);
      expect(log).not.toContain(inQuestion);
      expect(log).not.toContain("What color is the shape?");
    });
  });
}
