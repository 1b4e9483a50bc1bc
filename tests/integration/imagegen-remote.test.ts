import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import OpenAI from "openai";
import sharp from "sharp";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { chat, newConversation, userMessage } from "../helpers/chat";
import { TestClient } from "../helpers/client";
import { startServer, type RunningServer } from "../helpers/server";

// Image generation through a remote server (IMAGE_ENGINE_URL): a stand-in
// for stable-diffusion.cpp's server or LocalAI, started here, implements
// OpenAI's /v1/images/generations and draws flat PNGs with sharp. The shared
// test server cannot point at it (its environment is fixed at start), so
// this file starts its own app server with IMAGE_ENGINE_URL set: real route
// handlers, real database, the official `openai` client.

const IMAGE_KEY = "image-server-secret";

type Mode = "ok" | "one-per-call" | "jpeg" | "url" | "url-elsewhere" | "garbage" | "fail" | "bad-request" | "unauthorized" | "hang" | "slow";

/** The stand-in image server: what it was asked, and how it behaves next. */
const fake = {
  mode: "ok" as Mode,
  requests: [] as { auth: string | undefined; body: Record<string, unknown> }[],
  /** Requests whose connection closed before an answer (the app aborted them). */
  closedEarly: 0,
  url: "",
};

/** The prompt's colour; each image of a batch a shade apart, so that each is a picture of its own. */
const colourOf = (prompt: string, i: number) => {
  const [r, g, b] = /red/.test(prompt) ? [224, 32, 32] : /blue/.test(prompt) ? [32, 64, 224] : [32, 192, 64];
  return { r, g: g + 8 * i, b };
};

function startFakeImageServer(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method === "GET" && req.url === "/files/red.png") {
      void sharp({ create: { width: 64, height: 64, channels: 3, background: "#e02020" } })
        .png()
        .toBuffer()
        .then((png) => res.writeHead(200, { "content-type": "image/png" }).end(png));
      return;
    }
    if (req.method !== "POST" || req.url !== "/v1/images/generations") return void res.writeHead(404).end();
    let raw = "";
    req.on("data", (d) => (raw += d));
    req.on("end", async () => {
      const body = JSON.parse(raw) as { prompt: string; n: number; size: string };
      fake.requests.push({ auth: req.headers.authorization, body });
      const json = (status: number, obj: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(obj));
      if (req.headers.authorization !== `Bearer ${IMAGE_KEY}` || fake.mode === "unauthorized") return json(401, { error: { message: "bad key" } });
      if (fake.mode === "fail") return json(500, { error: { message: "CUDA out of memory" } });
      if (fake.mode === "bad-request") return json(400, { error: { message: "prompt rejected by the safety checker" } });
      if (fake.mode === "hang") {
        res.on("close", () => {
          if (!res.writableEnded) fake.closedEarly++;
        });
        return;
      }
      if (fake.mode === "slow") await new Promise((r) => setTimeout(r, 1500));
      if (fake.mode === "garbage") return json(200, { data: [{ b64_json: Buffer.from("not an image at all").toString("base64") }] });
      if (fake.mode === "url") return json(200, { data: [{ url: `${fake.url}/files/red.png` }] });
      if (fake.mode === "url-elsewhere") return json(200, { data: [{ url: "http://169.254.169.254/latest/meta-data.png" }] });
      const [width, height] = body.size.split("x").map(Number) as [number, number];
      const n = fake.mode === "one-per-call" ? 1 : body.n;
      const images = await Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const img = sharp({ create: { width, height, channels: 3, background: colourOf(body.prompt, i) } });
          return (fake.mode === "jpeg" ? img.jpeg() : img.png()).toBuffer();
        }),
      );
      json(200, { created: 1, data: images.map((b) => ({ b64_json: b.toString("base64") })) });
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

async function newKey(client: TestClient) {
  const res = await client.fetch("/api/keys", { method: "POST", json: { name: "images" } });
  expect(res.status).toBe(201);
  return ((await res.json()) as { secret: string }).secret;
}

async function meanColour(b64: string) {
  const { channels } = await sharp(Buffer.from(b64, "base64")).stats();
  return channels.slice(0, 3).map((c) => Math.round(c.mean));
}

describe("image generation through a remote server (IMAGE_ENGINE_URL)", () => {
  let imageServer: http.Server;
  let app: RunningServer;
  let dataDir: string;
  const alice = () => new TestClient(app.url);
  let aliceClient: TestClient;
  let bobClient: TestClient;
  let secret: string;
  let bobSecret: string;
  const api = (key = secret) => new OpenAI({ apiKey: key, baseURL: `${app.url}/v1`, maxRetries: 0, timeout: 60_000 });
  const post = async (body: unknown, init: { key?: string; signal?: AbortSignal } = {}) => {
    const res = await fetch(`${app.url}/v1/images/generations`, {
      method: "POST",
      headers: { authorization: `Bearer ${init.key ?? secret}`, "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: init.signal,
    });
    return {
      status: res.status,
      headers: res.headers,
      body: (await res.json()) as {
        data: { b64_json: string; seed?: number; attachment_id?: string }[];
        model: string;
        error: { message: string; type: string; param: string | null; code: string | null };
      },
    };
  };

  beforeAll(async () => {
    imageServer = await startFakeImageServer();
    fake.url = `http://127.0.0.1:${(imageServer.address() as AddressInfo).port}`;
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-imagegen-it-"));
    app = await startServer({
      dataDir,
      env: {
        TRUST_PROXY: "true",
        ENGINE_AUTOBUILD: "0",
        IMAGE_CAPTIONS: "false",
        IMAGE_ENGINE_URL: fake.url,
        IMAGE_ENGINE_API_KEY: IMAGE_KEY,
        IMAGE_ENGINE_MODEL: "sd-test",
        IMAGE_ENGINE_SIZES: "64x64,256x256",
        IMAGE_ENGINE_TIMEOUT_MS: "3000",
        IMAGE_QUEUE_PER_USER: "2",
        // Above what the other tests ask of one user in a minute; the limit's own test uses a user of its own.
        IMAGE_RATE_LIMIT_PER_MINUTE: "40",
      },
    });
    aliceClient = alice();
    await aliceClient.newAccount();
    bobClient = new TestClient(app.url);
    await bobClient.newAccount();
    secret = await newKey(aliceClient);
    bobSecret = await newKey(bobClient);
  });
  afterAll(async () => {
    await app?.stop();
    imageServer?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    fake.mode = "ok";
    fake.requests = [];
  });

  it("the official openai client's images.generate gets PNGs of the asked size from the remote server", async () => {
    const r = await api().images.generate({ prompt: "a red circle", n: 2, size: "64x64", response_format: "b64_json" });
    expect(r.data).toHaveLength(2);
    for (const image of r.data!) {
      const meta = await sharp(Buffer.from(image.b64_json!, "base64")).metadata();
      expect(meta).toMatchObject({ format: "png", width: 64, height: 64 });
      const [red, green, blue] = await meanColour(image.b64_json!);
      expect(red).toBeGreaterThan(200);
      expect(green! + blue!).toBeLessThan(100);
    }
    // What the remote server was sent: OpenAI's fields, our key, the configured model.
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]).toMatchObject({ auth: `Bearer ${IMAGE_KEY}`, body: { prompt: "a red circle", n: 2, size: "64x64", response_format: "b64_json", model: "sd-test" } });
  });

  it("lists the generator in /v1/models (after the chat model) and says in /api/health which one runs, without its host", async () => {
    const list = await api().models.list();
    expect(list.data).toHaveLength(2);
    expect(list.data[1]).toMatchObject({ id: "remote:sd-test", object: "model", owned_by: "remote", input_modalities: ["text"], output_modalities: ["image"], sizes: ["64x64", "256x256"] });
    expect(list.data[0]).toMatchObject({ output_modalities: ["text"] });
    const health = (await (await fetch(`${app.url}/api/health`)).json()) as { generator: Record<string, unknown> };
    expect(health.generator).toEqual({ status: "ready", id: "remote:sd-test", kind: "remote", label: "Remote image server" });
    expect(JSON.stringify(health)).not.toContain(new URL(fake.url).host);
  });

  it("refuses what is past the caps with a 400 that names the limit and the parameter", async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ prompt: "x".repeat(1001) }, "prompt", /1001 characters.*limit is 1000/],
      [{ prompt: "   " }, "prompt", /empty/],
      [{ prompt: "a red circle", n: 5 }, "n", /from 1 to 4.*it was 5/],
      [{ prompt: "a red circle", n: 0 }, "n", /from 1 to 4/],
      [{ prompt: "a red circle", size: "512x512" }, "size", /one of 64x64, 256x256.*'512x512'/],
      [{ prompt: "a red circle", steps: 101 }, "steps", /from 1 to 100/],
      [{ prompt: "a red circle", seed: -1 }, "seed", /seed must be/],
      [{ prompt: "a red circle", response_format: "url" }, "response_format", /b64_json/],
      [{ prompt: "a red circle", n: 1.5 }, "n", /int/i],
    ];
    for (const [body, param, message] of cases) {
      const r = await post(body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(r.body.error).toMatchObject({ type: "invalid_request_error", param });
      expect(r.body.error.message).toMatch(message);
    }
    const wrongModel = await post({ prompt: "a red circle", model: "dall-e-3" });
    expect(wrongModel.status).toBe(404);
    expect(wrongModel.body.error).toMatchObject({ param: "model", code: "model_not_found" });
    expect(wrongModel.body.error.message).toContain("remote:sd-test");
    // Nothing past a cap reached the image server.
    expect(fake.requests).toEqual([]);
    // n up to 4 and each listed size are fine.
    const four = await post({ prompt: "a blue square", n: 4, size: "256x256", seed: 7 });
    expect(four.status).toBe(200);
    expect(four.body.data).toHaveLength(4);
    expect(four.body.model).toBe("remote:sd-test");
    expect((await sharp(Buffer.from(four.body.data[3]!.b64_json, "base64")).metadata()).width).toBe(256);
    expect(fake.requests[0]!.body).toMatchObject({ n: 4, size: "256x256", seed: 7 });
  });

  it("asks again when the server makes fewer images than n; normalises JPEG to PNG; fetches a url answer from the server's own origin only", async () => {
    fake.mode = "one-per-call";
    const three = await post({ prompt: "a red circle", n: 3, size: "64x64", seed: 10 });
    expect(three.status).toBe(200);
    expect(three.body.data).toHaveLength(3);
    expect(fake.requests.map((r) => [r.body.n, r.body.seed])).toEqual([
      [3, 10],
      [2, 11],
      [1, 12],
    ]);

    fake.mode = "jpeg";
    const jpeg = await post({ prompt: "a blue square", size: "64x64" });
    expect(jpeg.status).toBe(200);
    expect((await sharp(Buffer.from(jpeg.body.data[0]!.b64_json, "base64")).metadata()).format).toBe("png");

    fake.mode = "url";
    const byUrl = await post({ prompt: "anything", size: "64x64" });
    expect(byUrl.status).toBe(200);
    expect((await meanColour(byUrl.body.data[0]!.b64_json))[0]).toBeGreaterThan(200);

    fake.mode = "url-elsewhere";
    const elsewhere = await post({ prompt: "anything", size: "64x64" });
    expect(elsewhere.status).toBe(503);
    expect(elsewhere.body.error.message).toMatch(/another host \(169\.254\.169\.254\); only its own are fetched/);
  });

  it("says clearly what went wrong with the remote server: credentials, a refusal, a failure, not an image, unreachable, too slow", async () => {
    const expectError = async (mode: Mode, status: number, message: RegExp) => {
      fake.mode = mode;
      const r = await post({ prompt: "a red circle", size: "64x64" });
      expect(r.status, mode).toBe(status);
      expect(r.body.error.message, mode).toMatch(message);
      return r;
    };
    await expectError("unauthorized", 503, /refused our credentials \(401\)\. Check IMAGE_ENGINE_API_KEY/);
    await expectError("bad-request", 400, /refused the request \(400\): prompt rejected by the safety checker/);
    const failed = await expectError("fail", 503, /failed \(500\): CUDA out of memory/);
    expect(failed.headers.get("retry-after")).toBe("30");
    await expectError("garbage", 503, /not a PNG, JPEG or WebP image/);
    const t0 = Date.now();
    await expectError("hang", 503, /did not answer within 3 seconds/);
    expect(Date.now() - t0).toBeLessThan(10_000);
    // The timed-out request was closed, not left open on the image server.
    for (let i = 0; i < 40 && fake.closedEarly === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(fake.closedEarly).toBeGreaterThanOrEqual(1);
  });

  it("a client that leaves aborts the remote request", async () => {
    fake.mode = "hang";
    const before = fake.closedEarly;
    const stop = new AbortController();
    const pending = post({ prompt: "a red circle", size: "64x64" }, { signal: stop.signal }).catch((err: Error) => err);
    for (let i = 0; i < 50 && fake.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(fake.requests).toHaveLength(1);
    const t0 = Date.now();
    stop.abort();
    await pending;
    for (let i = 0; i < 40 && fake.closedEarly === before; i++) await new Promise((r) => setTimeout(r, 50));
    expect(fake.closedEarly).toBe(before + 1);
    // Well before the 3 s timeout.
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it("one user's batch does not starve another: one job per user at a time, and a user with too many waiting gets 429", async () => {
    fake.mode = "slow";
    const finished: string[] = [];
    const job = (who: string, key: string) => post({ prompt: `a red circle ${who}`, size: "64x64" }, { key }).then((r) => (finished.push(who), r));
    const a1 = job("a1", secret);
    await new Promise((r) => setTimeout(r, 200));
    const a2 = job("a2", secret);
    await new Promise((r) => setTimeout(r, 200));
    const a3 = await job("a3", secret);
    expect(a3.status).toBe(429);
    expect(a3.body.error).toMatchObject({ type: "rate_limit_error" });
    expect(a3.body.error.message).toMatch(/2 image generations waiting or running \(at most 2 at once\)/);
    expect(Number(a3.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // Bob, arriving after Alice's second job, is not behind it.
    const b1 = job("b1", bobSecret);
    const results = await Promise.all([a1, a2, b1]);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(finished.indexOf("b1")).toBeLessThan(finished.indexOf("a2"));
  });

  it("store: true puts the images in the user's library, marked generated with the prompt, searchable by it; nobody else can read them", async () => {
    const r = await post({ prompt: "a red circle above a zanzibar square", n: 2, size: "64x64", seed: 42, store: true });
    expect(r.status).toBe(200);
    const ids = r.body.data.map((d) => d.attachment_id!);
    expect(ids.every((id) => typeof id === "string" && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(2);
    const id = ids[0]!;

    const own = await aliceClient.fetch(`/api/uploads/${id}`);
    expect(own.status).toBe(200);
    expect(own.headers.get("content-type")).toBe("image/png");
    expect((await sharp(Buffer.from(await own.arrayBuffer())).metadata()).width).toBe(64);

    const library = (await (await aliceClient.fetch("/api/images")).json()) as { items: { id: string; generated: { prompt: string; seed: number | null; generator: string } | null }[] };
    // A remote server does not say which seed it used: none is claimed.
    for (const each of ids) {
      expect(library.items.find((c) => c.id === each)?.generated).toEqual({ prompt: "a red circle above a zanzibar square", seed: null, generator: "remote:sd-test" });
    }

    // The prompt is part of the image's search text (written by the indexer).
    let found = false;
    for (let i = 0; i < 120 && !found; i++) {
      const hits = (await (await aliceClient.fetch("/api/images?q=zanzibar")).json()) as { items: { id: string }[] };
      found = hits.items.some((h) => h.id === id);
      if (!found) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(found).toBe(true);

    // Bob, by session or by API key, gets nothing.
    expect((await bobClient.fetch(`/api/uploads/${id}`)).status).toBe(404);
    const bobLibrary = (await (await bobClient.fetch("/api/images?q=zanzibar")).json()) as { items: { id: string }[] };
    expect(bobLibrary.items.map((h) => h.id)).not.toContain(id);
    const viaKey = await fetch(`${app.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${bobSecret}`, "content-type": "application/json" },
      body: JSON.stringify({ model: (await api(bobSecret).models.list()).data[0]!.id, max_tokens: 4, messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: `/api/uploads/${id}` } }, { type: "text", text: "Colour?" }] }] }),
    });
    expect(viaKey.status).toBe(404);
    expect(((await viaKey.json()) as { error: { code: string } }).error.code).toBe("image_not_found");

    // Without store nothing is kept.
    const unstored = await post({ prompt: "a blue square nowhere", size: "256x256" });
    expect(unstored.body.data[0]!.attachment_id).toBeUndefined();
  });

  it("a user's API keys share an images-per-minute limit (IMAGE_RATE_LIMIT_PER_MINUTE, each of n counts): past it a 429 with Retry-After; failed requests spend nothing; other users are not held up", async () => {
    const carol = new TestClient(app.url);
    await carol.newAccount();
    const first = await newKey(carol);
    const second = await newKey(carol);
    // A failing server's answer and a size it does not make spend nothing.
    fake.mode = "fail";
    expect((await post({ prompt: "a red circle", n: 4, size: "64x64" }, { key: first })).status).toBeGreaterThanOrEqual(500);
    fake.mode = "ok";
    expect((await post({ prompt: "a red circle", n: 4, size: "999x999" }, { key: first })).status).toBe(400);
    for (let i = 0; i < 10; i++) expect((await post({ prompt: "a red circle", n: 4, size: "64x64" }, { key: i % 2 ? first : second })).status).toBe(200);
    // 40 made: her other key is refused too.
    const refused = await post({ prompt: "a red circle", n: 1, size: "64x64" }, { key: second });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(refused.body.error.message).toMatch(/images from this account's API keys/);
    const asked = fake.requests.filter((r) => r.body.size === "64x64").length;
    expect(asked).toBe(11); // the failed one and the ten; the refused one never reached the image server
    expect((await post({ prompt: "a red circle", n: 1, size: "64x64" }, { key: bobSecret })).status).toBe(200);
  });

  it("in the chat, Create image draws through the remote server: its picture is the answer, in the library with its prompt", async () => {
    const id = await newConversation(aliceClient);
    const turn = await chat(aliceClient, { id, kind: "image", image: { size: "64x64" }, message: userMessage("a blue square, remotely") });
    expect(turn.status).toBe(200);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]!.body).toMatchObject({ prompt: "a blue square, remotely", size: "64x64", model: "sd-test" });
    const file = turn.chunks.find((c) => c.type === "file") as unknown as { url: string };
    const png = Buffer.from(await (await aliceClient.fetch(file.url)).arrayBuffer());
    const { channels } = await sharp(png).stats();
    expect(channels.slice(0, 3).map((c) => Math.round(c.mean))).toEqual([32, 64, 224]);
    const generation = turn.chunks.find((c) => c.type === "data-generation") as unknown as { data: { generator: string } } | undefined;
    expect(generation?.data.generator).toBe("remote:sd-test");
    const library = (await (await aliceClient.fetch("/api/images")).json()) as { items: { id: string; generated: { prompt: string } | null }[] };
    expect(library.items.find((i) => i.id === file.url.split("/").at(-1))?.generated?.prompt).toBe("a blue square, remotely");
    // A failing server is an answer that says so, and no image.
    fake.mode = "fail";
    const failed = await chat(aliceClient, { id, kind: "image", image: { size: "64x64" }, message: userMessage("a red circle") });
    expect(failed.chunks.some((c) => c.type === "file")).toBe(false);
    expect(JSON.stringify(failed.chunks.filter((c) => c.type === "error" || c.type === "data-error"))).toMatch(/image/i);
  });
});
