import fs from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import { readSseJson } from "../../lib/engine/sse";
import type { TestClient } from "./client";

// The chat page's requests, made by hand: upload, start a conversation, post a turn and read its UI message stream.

export const fixture = (name: string) => fs.readFileSync(path.resolve(import.meta.dirname, "..", "fixtures", name));

/** A message as GET /api/conversations/:id returns it (the fields tests read). */
export interface SavedMessage {
  id: string;
  role: string;
  status: string;
  error: string | null;
  finishReason: string | null;
  parentId: string | null;
  parts: { type: string; text?: string }[];
  promptTokens: number | null;
}

export interface Chunk {
  type: string;
  delta?: string;
  messageMetadata?: Record<string, unknown>;
  errorText?: string;
}

export async function uploadFixture(client: TestClient, name: string, type: string): Promise<string> {
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(fixture(name))], { type }), name);
  const res = await client.fetch("/api/uploads", { method: "POST", body: form });
  expect(res.status).toBe(201);
  return ((await res.json()) as { attachment: { url: string } }).attachment.url;
}

export async function newConversation(client: TestClient): Promise<string> {
  const res = await client.fetch("/api/conversations", { method: "POST", json: {} });
  return ((await res.json()) as { conversation: { id: string } }).conversation.id;
}

export const userMessage = (text: string, imageUrls: string[] = []) => ({
  role: "user",
  parts: [...imageUrls.map((url) => ({ type: "file", mediaType: "image/png", url })), { type: "text", text }],
});

/** The answer's text in these chunks. */
export const textOf = (chunks: Chunk[]) => chunks.flatMap((c) => (c.type === "text-delta" ? [c.delta!] : [])).join("");

/** Posts a chat turn and drains the UI message stream into its chunks. */
export async function chat(
  client: TestClient,
  body: Record<string, unknown>,
  { onChunk }: { onChunk?: (chunk: Chunk, all: Chunk[]) => boolean | void } = {},
): Promise<{ status: number; headers: Headers; chunks: Chunk[]; text: string; json?: { error: { code: string; message: string } } }> {
  const controller = new AbortController();
  const res = await client.fetch("/api/chat", { method: "POST", json: body, signal: controller.signal });
  const { status, headers } = res;
  if (!headers.get("content-type")?.includes("text/event-stream")) return { status, headers, chunks: [], text: "", json: await res.json() };
  const chunks = await readChunks(res, controller, onChunk);
  return { status, headers, chunks, text: textOf(chunks) };
}

/** Joins the answer being written in a conversation (GET /api/chat/:id/stream) and reads it to its end, or until `onChunk` says stop. */
export async function resume(
  client: TestClient,
  id: string,
  { onChunk }: { onChunk?: (chunk: Chunk, all: Chunk[]) => boolean | void } = {},
): Promise<{ status: number; chunks: Chunk[]; text: string }> {
  const controller = new AbortController();
  const res = await client.fetch(`/api/chat/${id}/stream`, { signal: controller.signal });
  if (res.status !== 200) return { status: res.status, chunks: [], text: "" };
  const chunks = await readChunks(res, controller, onChunk);
  return { status: res.status, chunks, text: textOf(chunks) };
}

/** A UI message stream's chunks; `onChunk` returning true stops reading (and drops the connection). */
async function readChunks(res: Response, controller: AbortController, onChunk?: (chunk: Chunk, all: Chunk[]) => boolean | void): Promise<Chunk[]> {
  const chunks: Chunk[] = [];
  try {
    for await (const chunk of readSseJson<Chunk>(res.body!)) {
      chunks.push(chunk);
      if (onChunk?.(chunk, chunks) === true) {
        controller.abort();
        break;
      }
    }
  } catch (err) {
    if ((err as Error).name !== "AbortError") throw err;
  }
  return chunks;
}

