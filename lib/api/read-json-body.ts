import { AppError } from "@/lib/errors";

/**
 * Reads and parses a JSON body of at most `maxBytes`, refusing a larger one
 * (413) by its declared length and again while reading, before it is
 * buffered whole (the declared length can lie). A body that is not JSON is
 * a 400 `bad_request:<surface>`.
 */
export async function readJsonBodyOrThrow(req: Request, { maxBytes, surface }: { maxBytes: number; surface: string }): Promise<unknown> {
  const tooLarge = () =>
    new AppError(`payload_too_large:${surface}`, `The file is larger than the ${(maxBytes / 1024 / 1024).toFixed(0)} MiB limit.`);
  if (Number(req.headers.get("content-length") ?? "0") > maxBytes) throw tooLarge();
  if (!/^application\/json\b/i.test(req.headers.get("content-type") ?? "")) {
    throw new AppError(`unsupported_media_type:${surface}`, "Send the file as application/json.");
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body?.getReader();
  for (;;) {
    const next = await reader?.read();
    if (!next || next.done) break;
    size += next.value.byteLength;
    if (size > maxBytes) {
      await reader!.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(next.value);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new AppError(`bad_request:${surface}`, "The file is not JSON. Choose a .json file made by Export.");
  }
}
