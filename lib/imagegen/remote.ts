import "server-only";
import sharp from "sharp";
import { AppError } from "@/lib/errors";
import { sniffImage } from "@/lib/storage/normalize-image";
import type { GeneratedImage, GenerateRequest, GeneratorInfo, ImageGenerator, StepEvent } from "./types";

/** Largest answer read from the image server, in bytes (four 1024² PNGs as base64 are ~20 MB). */
const MAX_ANSWER_BYTES = 96 * 1024 * 1024;
/** Largest image decoded from it, in pixels. */
const MAX_PIXELS = 4096 * 4096;

export interface RemoteGeneratorOptions {
  /** Base URL of a server with OpenAI's `/v1/images/generations`, with or without `/v1`. */
  url: string;
  /** Bearer token, if the server wants one. */
  apiKey?: string;
  /** The `model` asked for; none is sent when absent. */
  model?: string;
  /** Sizes the server makes, as "WxH". */
  sizes: string[];
  /** Longest one request may take, in ms. */
  timeoutMs: number;
}

/**
 * An image generator reached over HTTP: any server with OpenAI's
 * `/v1/images/generations` (stable-diffusion.cpp's server, LocalAI, OpenAI
 * itself). Asks for `b64_json`; a `url` answer is fetched too, from the same
 * origin only (a server must not make us fetch from elsewhere). Every image
 * is checked (PNG, JPEG or WebP by its bytes) and re-encoded as PNG. There
 * is no step progress: one event per image, when it has arrived.
 */
export function createRemoteGenerator(opts: RemoteGeneratorOptions): ImageGenerator {
  const base = new URL(opts.url);
  const root = base.href.replace(/\/+$/, "");
  const endpoint = /\/v1$/.test(root) ? `${root}/images/generations` : `${root}/v1/images/generations`;
  const info: GeneratorInfo = {
    // Not the host: ids are listed by /v1/models and /api/health, which must not name internal hosts.
    id: `remote:${opts.model ?? "image-server"}`,
    kind: "remote",
    label: `Image server at ${base.host}`,
    sizes: opts.sizes,
    // Not sent: OpenAI's API has no steps; the server uses its own.
    defaultSteps: 20,
    maxSteps: 100,
  };
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
  if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;

  async function call(req: GenerateRequest, n: number, signal: AbortSignal): Promise<Uint8Array[]> {
    const body: Record<string, unknown> = { prompt: req.prompt, n, size: `${req.width}x${req.height}`, response_format: "b64_json" };
    if (opts.model) body.model = opts.model;
    // An extension stable-diffusion.cpp's server and LocalAI read; OpenAI ignores it.
    if (req.seed !== undefined) body.seed = req.seed;
    const res = await reach(() => fetch(endpoint, { method: "POST", headers, body: JSON.stringify(body), signal, redirect: "error" }), signal);
    const text = (await readCapped(res, signal)).toString("utf8");
    if (!res.ok) throw refusal(res.status, text);
    let data: unknown;
    try {
      data = (JSON.parse(text) as { data?: unknown }).data;
    } catch {
      throw new AppError("unavailable:image_engine", `The image server at ${base.host} answered with something that is not JSON.`);
    }
    if (!Array.isArray(data)) throw new AppError("unavailable:image_engine", `The image server at ${base.host} answered without a 'data' list of images.`);
    const out: Uint8Array[] = [];
    for (const item of data as { b64_json?: unknown; url?: unknown }[]) {
      if (typeof item?.b64_json === "string") out.push(Buffer.from(item.b64_json, "base64"));
      else if (typeof item?.url === "string") out.push(await fetchImageUrl(item.url, signal));
      else throw new AppError("unavailable:image_engine", `The image server at ${base.host} sent an image without b64_json or url.`);
    }
    return out;
  }

  /** An image the server gave by URL: a data: URI, or a URL on the server's own origin. */
  async function fetchImageUrl(url: string, signal: AbortSignal): Promise<Uint8Array> {
    const data = /^data:image\/[a-z+.-]+;base64,(.*)$/is.exec(url);
    if (data) return Buffer.from(data[1]!, "base64");
    let target: URL;
    try {
      target = new URL(url, base);
    } catch {
      throw new AppError("unavailable:image_engine", `The image server at ${base.host} sent an image URL that is not one.`);
    }
    if (target.origin !== base.origin) {
      throw new AppError("unavailable:image_engine", `The image server at ${base.host} sent an image URL on another host (${target.host}); only its own are fetched.`);
    }
    const res = await reach(() => fetch(target, { headers: opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {}, signal, redirect: "error" }), signal);
    const bytes = await readCapped(res, signal);
    if (!res.ok) throw refusal(res.status, bytes.toString("utf8"));
    return bytes;
  }

  /** fetch, with its failures said in words: stopped, timed out, or not reachable. */
  async function reach(go: () => Promise<Response>, signal: AbortSignal): Promise<Response> {
    try {
      return await go();
    } catch (err) {
      throw failure(err, signal);
    }
  }

  function failure(err: unknown, signal: AbortSignal): unknown {
    if (signal.aborted) {
      const reason: unknown = signal.reason;
      if (reason instanceof DOMException && reason.name === "TimeoutError") {
        return new AppError("unavailable:image_engine", `The image server at ${base.host} did not answer within ${Math.round(opts.timeoutMs / 1000)} seconds.`, { retryAfterSeconds: 30 });
      }
      return reason;
    }
    if (err instanceof AppError) return err;
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return new AppError("unavailable:image_engine", `The image server at ${base.host} could not be reached${cause ? ` (${cause})` : ""}. Is IMAGE_ENGINE_URL right and the server running?`, {
      retryAfterSeconds: 30,
    });
  }

  function refusal(status: number, text: string): AppError {
    let said = "";
    try {
      const e = (JSON.parse(text) as { error?: { message?: unknown } | string; detail?: unknown }) ?? {};
      const m = typeof e.error === "string" ? e.error : typeof e.error?.message === "string" ? e.error.message : typeof e.detail === "string" ? e.detail : "";
      said = m.slice(0, 300);
    } catch {
      said = "";
    }
    const their = said ? `: ${said}` : ".";
    if (status === 401 || status === 403) {
      return new AppError("unavailable:image_engine", `The image server at ${base.host} refused our credentials (${status}). Check IMAGE_ENGINE_API_KEY.`);
    }
    if (status === 429) return new AppError("rate_limited:image_engine", `The image server at ${base.host} is busy (429)${their}`, { retryAfterSeconds: 30 });
    if (status >= 400 && status < 500) return new AppError("bad_request:image_engine", `The image server at ${base.host} refused the request (${status})${their}`);
    return new AppError("unavailable:image_engine", `The image server at ${base.host} failed (${status})${their}`, { retryAfterSeconds: 30 });
  }

  async function readCapped(res: Response, signal: AbortSignal): Promise<Buffer> {
    const declared = Number(res.headers.get("content-length") ?? 0);
    if (declared > MAX_ANSWER_BYTES) throw tooLarge();
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = res.body?.getReader();
    try {
      for (;;) {
        const { done, value } = (await reader?.read()) ?? { done: true, value: undefined };
        if (done) break;
        size += value.byteLength;
        if (size > MAX_ANSWER_BYTES) {
          await reader?.cancel().catch(() => {});
          throw tooLarge();
        }
        chunks.push(value);
      }
    } catch (err) {
      throw failure(err, signal);
    }
    return Buffer.concat(chunks);
  }

  const tooLarge = () => new AppError("unavailable:image_engine", `The image server at ${base.host} sent more than ${MAX_ANSWER_BYTES / 1024 / 1024} MB.`);

  async function toPng(bytes: Uint8Array): Promise<GeneratedImage> {
    const kind = sniffImage(bytes);
    if (kind !== "png" && kind !== "jpeg" && kind !== "webp") {
      throw new AppError("unavailable:image_engine", `The image server at ${base.host} sent something that is not a PNG, JPEG or WebP image.`);
    }
    try {
      const { data, info: out } = await sharp(bytes, { limitInputPixels: MAX_PIXELS, pages: 1 }).rotate().png().toBuffer({ resolveWithObject: true });
      return { png: new Uint8Array(data), width: out.width, height: out.height };
    } catch {
      throw new AppError("unavailable:image_engine", `The image server at ${base.host} sent an image that does not decode.`);
    }
  }

  return {
    info,
    async generate(req, { signal, onStep } = {}) {
      const stop = AbortSignal.any([...(signal ? [signal] : []), AbortSignal.timeout(opts.timeoutMs)]);
      const images: GeneratedImage[] = [];
      // Some servers make one image whatever n says: ask again for the rest.
      while (images.length < req.n) {
        const got = await call({ ...req, seed: req.seed === undefined ? undefined : req.seed + images.length }, req.n - images.length, stop);
        if (!got.length) throw new AppError("unavailable:image_engine", `The image server at ${base.host} sent no image.`);
        for (const bytes of got.slice(0, req.n - images.length)) {
          if (stop.aborted) throw failure(null, stop);
          images.push(await toPng(bytes));
          const e: StepEvent = { image: images.length - 1, step: 1, steps: 1 };
          onStep?.(e);
        }
      }
      return images;
    },
  };
}
