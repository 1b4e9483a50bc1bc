import { OpenAiError } from "./errors";

/**
 * Reads a JSON body of at most `maxBytes`, refusing a larger one as soon as
 * it is seen (413), before it is buffered whole.
 */
export async function readJsonBody(req: Request, maxBytes: number): Promise<unknown> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  const tooLarge = () => new OpenAiError(413, `The request body is larger than ${Math.round(maxBytes / 1024 / 1024)} MiB.`, null, "request_too_large");
  if (declared > maxBytes) throw tooLarge();
  const type = req.headers.get("content-type") ?? "";
  if (!/^application\/json\b/i.test(type)) throw new OpenAiError(415, "Send the request as application/json.", null, "unsupported_media_type");
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body?.getReader();
  if (reader) {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(value);
    }
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new OpenAiError(400, "The request body must be valid JSON.", null, "invalid_json");
  }
}
