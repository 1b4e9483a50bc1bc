import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { expect } from "vitest";
import { mediaPromptParts } from "../../lib/media/prompt-parts";
import type { MediaInfo } from "../../lib/media/types";
import { chat, newConversation, type SavedMessage } from "./chat";
import { TestClient } from "./client";
import { queryTestDatabase } from "./database";
import { startServer, type RunningServer } from "./server";

// The media tests' own server (a data directory they can look into), and
// the requests they make: upload, read the derived parts, chat, and count
// what reached the engine.

export interface MediaApp {
  server: RunningServer;
  dataDir: string;
  client: TestClient;
  /** Files under the upload directory (content-addressed blobs). */
  storedFiles: () => string[];
  /** Attachment rows in the database (SQLite file or the test's PostgreSQL database): with storedFiles, what "nothing was stored" means. */
  attachmentRows: () => Promise<number>;
  stop: () => Promise<void>;
}

export async function startMediaApp(env: Record<string, string> = {}): Promise<MediaApp> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-media-it-"));
  const server = await startServer({ dataDir, env: { TRUST_PROXY: "true", IMAGE_CAPTIONS: "false", ENGINE_AUTOBUILD: "0", UPLOAD_MAX_BYTES: String(8 * 1024 * 1024), ...env } });
  const client = new TestClient(server.url);
  await client.newAccount();
  const uploads = path.join(dataDir, "uploads");
  const storedFiles = () => (fs.existsSync(uploads) ? (fs.readdirSync(uploads, { recursive: true }) as string[]).filter((f) => /\.[a-z0-9]+$/.test(f) && !f.endsWith(".tmp")) : []);
  const attachmentRows = async () =>
    Number((await queryTestDatabase<{ n: number }>(dataDir, 'SELECT CAST(count(*) AS INTEGER) AS n FROM "Attachment"'))[0]!.n);
  return {
    server,
    dataDir,
    client,
    storedFiles,
    attachmentRows,
    stop: async () => {
      await server.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function uploadFile(client: TestClient, bytes: Uint8Array, name: string, type = "application/octet-stream") {
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(bytes)], { type }), name);
  let res: Response;
  try {
    res = await client.fetch("/api/uploads", { method: "POST", body: form });
  } catch (err) {
    // A pooled keep-alive socket the server closed after a pause (making a big test file takes
    // seconds) fails the write with EPIPE/ECONNRESET before the request is seen: send it again.
    if (!/EPIPE|ECONNRESET|other side closed/.test(String((err as Error & { cause?: Error }).cause ?? err))) throw err;
    res = await client.fetch("/api/uploads", { method: "POST", body: form });
  }
  return { status: res.status, body: (await res.json()) as { attachment: { id: string; url: string; mediaType: string }; error: { code: string; message: string } } };
}

export interface PartsBody {
  id: string;
  mediaType: string;
  info: MediaInfo;
  parts: { id: string; url: string; label: string; time: number | null; page: number | null }[];
}

export async function partsOf(client: TestClient, id: string): Promise<PartsBody> {
  const res = await client.fetch(`/api/uploads/${id}/parts`);
  expect(res.status).toBe(200);
  return (await res.json()) as PartsBody;
}

export async function savedMessages(client: TestClient, conversationId: string): Promise<(SavedMessage & { reusedTokens: number | null })[]> {
  const res = await client.fetch(`/api/conversations/${conversationId}`);
  return ((await res.json()) as { conversation: { messages: (SavedMessage & { reusedTokens: number | null })[] } }).conversation.messages;
}

/** Asks one question in a new conversation; returns the conversation and the answer's prompt tokens. */
export async function ask(client: TestClient, text: string, files: { url: string; mediaType: string }[] = []) {
  const id = await newConversation(client);
  const r = await chat(client, { id, message: { role: "user", parts: [...files.map((f) => ({ type: "file", ...f })), { type: "text", text }] } });
  expect(r.status).toBe(200);
  const messages = await savedMessages(client, id);
  const answer = messages.at(-1)!;
  expect(answer.status).toBe("complete");
  return { id, answer, promptTokens: answer.promptTokens! };
}

/** Tokens one image costs in this model's prompt: the same question with and without a plain image. */
export async function imageTokens(client: TestClient): Promise<number> {
  const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: "#3050e0" } }).png().toBuffer();
  const up = await uploadFile(client, png, "plain.png", "image/png");
  const q = "Which colour?";
  const withImage = await ask(client, q, [{ url: up.body.attachment.url, mediaType: "image/png" }]);
  const without = await ask(client, q);
  return withImage.promptTokens - without.promptTokens;
}

/**
 * How many images of an upload reached the engine's prompt: the prompt
 * tokens of a question with the upload, less those of the same words sent
 * as text only (the labels the app writes beside the derived images, then
 * the question), divided by the tokens of one image. Exact, not a bound.
 */
export async function imagesInPrompt(client: TestClient, upload: { url: string; mediaType: string; id: string }, question: string, perImage: number, { maxPages = 4 }: { maxPages?: number } = {}) {
  const withMedia = await ask(client, question, [upload]);
  const parts = await partsOf(client, upload.id);
  const read = mediaPromptParts(
    { mediaType: parts.mediaType, info: parts.info, derived: parts.parts.map((p) => ({ storageKey: p.id, label: p.label, page: p.page })), maxPages },
    question,
  );
  const textOnly = await ask(client, `${read.text}\n${question}`);
  const extra = withMedia.promptTokens - textOnly.promptTokens;
  expect(extra % perImage).toBe(0);
  return { images: extra / perImage, expected: read.keys.length, conversationId: withMedia.id, answer: withMedia.answer };
}

/** The image library's best match for `q` once every image is indexed (derived ones included). */
export async function libraryFinds(client: TestClient, q: string) {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const s = (await (await client.fetch("/api/images/status")).json()) as { total: number; indexed: number };
    if (s.total > 0 && s.indexed >= s.total) break;
    if (Date.now() > deadline) throw new Error(`indexing stuck at ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
  const res = await client.fetch(`/api/images?q=${encodeURIComponent(q)}&limit=5`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as {
    items: { id: string; conversationId: string | null; source: { id: string; mediaType: string; label: string; time: number | null; page: number | null } | null }[];
  };
  expect(body.items.length).toBeGreaterThan(0);
  return body.items[0]!;
}
