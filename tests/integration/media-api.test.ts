import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mediaPromptParts } from "../../lib/media/prompt-parts";
import { partsOf, startMediaApp, uploadFile, type MediaApp } from "../helpers/media-app";
import { chirp, shapeVideo, textPdf, wav } from "../helpers/media-files";

// /v1/chat/completions takes audio (OpenAI's input_audio), files (file_data
// data: URIs) and video (llama-server's input_video, vLLM's video_url), and
// the derived images reach the engine exactly as in the chat.

describe("media through the OpenAI-compatible API", () => {
  let app: MediaApp;
  let secret: string;
  let model: string;
  let perImage: number;
  const post = async (content: unknown[] | string) => {
    const res = await fetch(`${app.server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model, max_tokens: 4, temperature: 0, messages: [{ role: "user", content }] }),
    });
    return { status: res.status, body: (await res.json()) as { usage: { prompt_tokens: number }; error: { message: string; param: string } } };
  };
  /** Images of this upload in the prompt: prompt tokens less those of the same text sent alone, per image. */
  const imagesOf = async (bytes: Buffer, name: string, content: unknown[], question: string) => {
    const withMedia = await post([...content, { type: "text", text: question }]);
    expect(withMedia.status).toBe(200);
    // The same bytes uploaded by the same user are the same attachment: its parts say what the prompt held.
    const up = await uploadFile(app.client, bytes, name);
    const parts = await partsOf(app.client, up.body.attachment.id);
    const read = mediaPromptParts({ mediaType: parts.mediaType, info: parts.info, derived: parts.parts.map((p) => ({ storageKey: p.id, label: p.label, page: p.page })), maxPages: 4 }, question);
    const textOnly = await post(`${read.text}\n${question}`);
    return (withMedia.body.usage.prompt_tokens - textOnly.body.usage.prompt_tokens) / perImage;
  };

  beforeAll(async () => {
    app = await startMediaApp({ VIDEO_MAX_FRAMES: "3" });
    const key = await app.client.fetch("/api/keys", { method: "POST", json: { name: "media" } });
    secret = ((await key.json()) as { secret: string }).secret;
    const models = (await (await fetch(`${app.server.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).json()) as { data: { id: string; input_modalities: string[] }[] };
    model = models.data[0]!.id;
    expect(models.data[0]!.input_modalities).toEqual(["text", "image", "video", "audio", "file"]);
    const png = await sharp({ create: { width: 48, height: 48, channels: 3, background: "#20c040" } }).png().toBuffer();
    const a = await post([{ type: "image_url", image_url: { url: `data:image/png;base64,${png.toString("base64")}` } }, { type: "text", text: "Colour?" }]);
    const b = await post("Colour?");
    perImage = a.body.usage.prompt_tokens - b.body.usage.prompt_tokens;
    expect(perImage).toBeGreaterThan(0);
  });
  afterAll(() => app?.stop());

  it("input_audio: the spectrogram reaches the engine", async () => {
    const bytes = wav(chirp(2));
    expect(await imagesOf(bytes, "a.wav", [{ type: "input_audio", input_audio: { data: bytes.toString("base64"), format: "wav" } }], "What is this sound?")).toBe(1);
  });

  it("file with file_data: a PDF's pages reach the engine", async () => {
    const bytes = textPdf([{ text: "one" }, { text: "two" }]);
    const part = { type: "file", file: { filename: "doc.pdf", file_data: `data:application/pdf;base64,${bytes.toString("base64")}` } };
    expect(await imagesOf(bytes, "doc.pdf", [part], "Summarise the document.")).toBe(2);
  });

  it("video_url and input_video data: URIs: the frames reach the engine", async () => {
    const bytes = await shapeVideo([{ colour: "red", shape: "circle" }, { colour: "blue", shape: "square" }, { colour: "green", shape: "triangle" }]);
    const b64 = bytes.toString("base64");
    expect(await imagesOf(bytes, "v.mp4", [{ type: "video_url", video_url: { url: `data:video/mp4;base64,${b64}` } }], "What happens?")).toBe(3);
    expect(await imagesOf(bytes, "v.mp4", [{ type: "input_video", input_video: { data: b64, format: "mp4" } }], "And then?")).toBe(3);
  });

  it.each([
    ["a remote video URL", [{ type: "video_url", video_url: { url: "https://example.com/v.mp4" } }], 400, /remote URLs and file paths are never fetched/, "video_url.url"],
    ["audio with no samples", [{ type: "input_audio", input_audio: { data: wav(new Float32Array(0)).toString("base64"), format: "wav" } }], 400, /no samples/, "input_audio.data"],
    ["a file whose bytes are not its name", [{ type: "file", file: { filename: "x.pdf", file_data: `data:application/pdf;base64,${Buffer.from("a,b\n1,2\n").toString("base64")}` } }], 400, /named "x.pdf" but its bytes are not a PDF/, "file.file_data"],
  ])("refuses %s with the problem and the part it is in, storing nothing", async (_what, content, status, message, param) => {
    const rows = await app.attachmentRows();
    const res = await post([...content, { type: "text", text: "?" }]);
    expect(res.status).toBe(status);
    expect(res.body.error.message).toMatch(message);
    expect(res.body.error.param).toBe(`messages.0.content.0.${param}`);
    expect(await app.attachmentRows()).toBe(rows);
  });
});
