import fs from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import type { TestClient } from "./client";

// The chat page's requests, made by hand: upload, start a conversation, post a turn and read its UI message stream.

export const fixture = (name: string) => fs.readFileSync(path.resolve(import.meta.dirname, "..", "fixtures", name));

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

/** Posts a chat turn and drains the UI message stream into its chunks. */
export async function chat(
  client: TestClient,
  body: Record<string, unknown>,
  { onChunk }: { onChunk?: (chunk: Chunk, all: Chunk[]) => boolean | void } = {},
): Promise<{ status: number; chunks: Chunk[]; text: string; json?: { error: { code: string; message: string } } }> {
  const controller = new AbortController();
  const res = await client.fetch("/api/chat", { method: "POST", json: body, signal: controller.signal });
  if (!res.headers.get("content-type")?.includes("text/event-stream")) return { status: res.status, chunks: [], text: "", json: await res.json() };
  const chunks: Chunk[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf("\n\n")) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 2);
        if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
        const chunk = JSON.parse(line.slice(6)) as Chunk;
        chunks.push(chunk);
        if (onChunk?.(chunk, chunks) === true) {
          controller.abort();
          throw new Error("aborted by test");
        }
      }
    }
  } catch (err) {
    if ((err as Error).message !== "aborted by test" && (err as Error).name !== "AbortError") throw err;
  }
  return { status: res.status, chunks, text: chunks.flatMap((c) => (c.type === "text-delta" ? [c.delta!] : [])).join("") };
}

