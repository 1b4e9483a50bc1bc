import { env } from "@/lib/env";
import { OpenAiError } from "./errors";

const DATA_URI = /^data:([a-z0-9.+-]+\/[a-z0-9.+-]+)?((?:;[a-z0-9-]+=[^;,]*)*)(;base64)?,/i;

/** True for anything that starts like a data: URI (the caller meant an image). */
export const isDataUri = (s: string) => /^data:/i.test(s);

/**
 * The bytes of a base64 `data:` URI sent to the API, refused (in OpenAI's
 * error shape, naming `param`) when it is not one, not base64, or larger
 * than UPLOAD_MAX_BYTES — checked before decoding. The bytes are not yet
 * validated as an image: normalise or store them like an upload next.
 */
export function decodeImageDataUri(url: string, param: string, notDataUri = "Images must be base64 data: URIs."): Buffer {
  const data = DATA_URI.exec(url);
  if (!data) throw new OpenAiError(400, notDataUri, param, "invalid_image_url");
  if (!data[3]) throw new OpenAiError(400, "Image data: URIs must be base64-encoded.", param, "invalid_image_url");
  const b64 = url.slice(data[0].length);
  if (Math.floor((b64.length * 3) / 4) > env.UPLOAD_MAX_BYTES + 4) {
    throw new OpenAiError(413, `The image is larger than the ${Math.round(env.UPLOAD_MAX_BYTES / 1024 / 1024)} MiB limit.`, param, "image_too_large");
  }
  // Buffer.from skips what is not base64 silently; a bad URI must say so, not come out as an empty or broken file.
  if (!BASE64.test(b64)) throw new OpenAiError(400, "The data: URI is not valid base64.", param, "invalid_image_url");
  return Buffer.from(b64, "base64");
}

/** Standard or URL-safe base64, padded or not. */
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
