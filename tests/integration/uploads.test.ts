import sharp from "sharp";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { TestClient } from "../helpers/client";
import { pngBomb, solid, svgWithScript, truncatedJpeg } from "../helpers/images";

const baseUrl = inject("baseUrl");

async function upload(client: TestClient, bytes: Buffer, name = "image.png", type = "image/png") {
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(bytes)], { type }), name);
  const res = await client.fetch("/api/uploads", { method: "POST", body: form });
  return { status: res.status, body: await res.json() };
}

describe("POST /api/uploads", () => {
  const alice = new TestClient(baseUrl);
  const bob = new TestClient(baseUrl);
  beforeAll(async () => {
    await alice.newAccount();
    await bob.newAccount();
  });

  it.each([
    ["PNG", () => solid(64, 48).png().toBuffer(), "image/png"],
    ["JPEG", () => solid(64, 48).jpeg().toBuffer(), "image/jpeg"],
    ["WebP", () => solid(64, 48).webp().toBuffer(), "image/png"],
    ["GIF", () => solid(64, 48).gif().toBuffer(), "image/png"],
  ])("accepts %s, identified by its bytes", async (_kind, make, storedType) => {
    // The declared name and type lie on purpose: only the bytes count.
    const { status, body } = await upload(alice, await make(), "photo.txt", "text/plain");
    expect(status).toBe(201);
    expect(body.attachment).toMatchObject({ mediaType: storedType, width: 64, height: 48, url: `/api/uploads/${body.attachment.id}` });
    const res = await alice.fetch(body.attachment.url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(storedType);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("cache-control")).toMatch(/private, max-age=31536000, immutable/);
  });

  it("keeps the first frame of an animated GIF", async () => {
    const frames = sharp({ create: { width: 32, height: 64, channels: 3, background: "#0000ff" } });
    const gif = await frames.gif().toBuffer();
    const { status, body } = await upload(alice, gif, "anim.gif", "image/gif");
    expect(status).toBe(201);
    expect(body.attachment).toMatchObject({ width: 32, height: 32 * 2 });
  });

  it.each([
    ["a file that is not an image", () => Buffer.from("\x00\x01binary\x00"), 415, /not a supported file/],
    ["a PDF named .png", () => Buffer.from("%PDF-1.4\n%âãÏÓ\n1 0 obj\n"), 400, /named "image.png" but its bytes are not an image \(they are a PDF document\)/],
    ["an SVG", svgWithScript, 415, /SVG images are not accepted/],
    ["a truncated JPEG", truncatedJpeg, 400, /damaged/],
    ["a pixel bomb", async () => pngBomb(30000, 30000), 413, /megapixels/],
    ["a 1×1 image", () => solid(1, 1).png().toBuffer(), 400, /only 1×1 pixels; it must be at least 8×8/],
    ["an empty body", () => Buffer.alloc(0), 400, /empty|Send the image/],
  ])("refuses %s with a clear message", async (_what, make, status, message) => {
    const res = await upload(alice, await make());
    expect(res.status).toBe(status);
    expect(res.body.error.message).toMatch(message);
  });

  it("refuses more bytes than the limit before reading them all", async () => {
    // The integration server runs with UPLOAD_MAX_BYTES = 2 MiB.
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    const res = await upload(alice, big);
    expect(res.status).toBe(413);
    expect(res.body.error.message).toMatch(/larger than the 2 MiB limit/);
  });

  it("applies EXIF orientation, strips metadata and downscales huge photos", async () => {
    const rotated = await solid(80, 40).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const { body } = await upload(alice, rotated, "r.jpg", "image/jpeg");
    expect(body.attachment).toMatchObject({ width: 40, height: 80 });
    const stored = await (await alice.fetch(body.attachment.url)).arrayBuffer();
    const meta = await sharp(Buffer.from(stored)).metadata();
    expect(meta.orientation).toBeUndefined();
    expect(meta.exif).toBeUndefined();

    const huge = await solid(4000, 1000).png().toBuffer();
    const big = await upload(alice, huge);
    expect(big.body.attachment).toMatchObject({ width: 2048, height: 512 });
  });

  it("de-duplicates the same image per user, and serves it to its owner only", async () => {
    const bytes = await solid(50, 50).png().toBuffer();
    const first = await upload(alice, bytes);
    const second = await upload(alice, bytes);
    expect(second.body.attachment.id).toBe(first.body.attachment.id);
    const bobs = await upload(bob, bytes);
    expect(bobs.body.attachment.id).not.toBe(first.body.attachment.id);

    const res = await bob.fetch(first.body.attachment.url);
    expect(res.status).toBe(404);
    expect((await new TestClient(baseUrl).fetch(first.body.attachment.url)).status).toBe(401);
    expect((await new TestClient(baseUrl).fetch("/api/uploads", { method: "POST", body: new FormData() })).status).toBe(401);
  });
});
