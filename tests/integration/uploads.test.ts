import { deflateSync } from "node:zlib";
import sharp from "sharp";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { TestClient } from "../helpers/client";

const baseUrl = inject("baseUrl");

const solid = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: 200, g: 30, b: 30 } } });

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

/** A valid-looking PNG whose header claims width × height; its few data bytes decompress to almost nothing. */
function pngBomb(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(Buffer.alloc(1024))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

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
    ["a file that is not an image", () => Buffer.from("%PDF-1.4\n%âãÏÓ\n1 0 obj\n"), 415, /not a supported image/],
    ["an SVG", () => Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), 415, /SVG images are not accepted/],
    ["a truncated JPEG", async () => (await solid(400, 300).jpeg().toBuffer()).subarray(0, 700), 400, /damaged/],
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
