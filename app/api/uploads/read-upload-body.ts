import { AppError } from "@/lib/errors";

/**
 * The uploaded bytes, refusing early what is too large: first by the
 * declared length, then while reading (the declared length can lie).
 */
export async function readUploadBody(req: Request, maxBytes: number): Promise<Uint8Array | null> {
  // Multipart framing adds a little; allow 64 KiB of it.
  const limit = maxBytes + 64 * 1024;
  const declared = Number(req.headers.get("content-length") ?? "0");
  const tooLarge = () =>
    new AppError("payload_too_large:upload", `The file is larger than the ${(maxBytes / 1024 / 1024).toFixed(1)} MiB limit.`);
  if (declared > limit) throw tooLarge();
  if (!req.body) return null;
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const raw = Buffer.concat(chunks);
  const type = req.headers.get("content-type") ?? "";
  if (!type.startsWith("multipart/form-data")) return raw.length ? raw : null;
  const form = await new Response(raw, { headers: { "content-type": type } }).formData().catch(() => null);
  const file = form?.get("file");
  if (!file || typeof file === "string") return null;
  return new Uint8Array(await file.arrayBuffer());
}
