import "server-only";
import { exportArchive } from "./export-archive";
import { exportMarkdownZip } from "./export-markdown-zip";
import { contentDisposition, fileName } from "./file-name";

/**
 * The download for one conversation (`id`) or all of the user's: the JSON
 * export or the Markdown zip, named after the conversation (or the date),
 * never cached. Another user's id is *not found*.
 */
export async function exportResponse({ userId, id, format }: { userId: string; id?: string; format: "json" | "markdown" }): Promise<Response> {
  const headers = { "cache-control": "private, no-store", "x-content-type-options": "nosniff" };
  if (format === "markdown") {
    const { zip, name } = await exportMarkdownZip({ userId, id });
    return new Response(zip, { headers: { ...headers, "content-type": "application/zip", "content-disposition": contentDisposition(name) } });
  }
  const archive = await exportArchive({ userId, id });
  const name = id ? `${fileName(archive.conversations[0]!.title)}.json` : `conversations-${archive.exportedAt.slice(0, 10)}.json`;
  return new Response(JSON.stringify(archive), {
    headers: { ...headers, "content-type": "application/json; charset=utf-8", "content-disposition": contentDisposition(name) },
  });
}
