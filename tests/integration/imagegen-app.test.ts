import OpenAI from "openai";
import sharp from "sharp";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { TestClient } from "../helpers/client";

// Image generation with the project's own shape-world model (the default:
// no IMAGE_ENGINE_URL), through the shared test server: the official
// `openai` client's images.generate, the caps, the library and who may
// read the images. What the model draws is checked by the project's CLIP.

const baseUrl = inject("baseUrl");

async function newKey(client: TestClient) {
  const res = await client.fetch("/api/keys", { method: "POST", json: { name: "images" } });
  expect(res.status).toBe(201);
  return ((await res.json()) as { secret: string }).secret;
}

type Item = { b64_json: string; seed?: number; attachment_id?: string };

describe("image generation with the local shape-world model, through the app", () => {
  const alice = new TestClient(baseUrl);
  const bob = new TestClient(baseUrl);
  let secret: string;
  let bobSecret: string;
  const api = (key = secret) => new OpenAI({ apiKey: key, baseURL: `${baseUrl}/v1`, maxRetries: 0, timeout: 120_000 });
  const post = async (body: unknown) => {
    const res = await fetch(`${baseUrl}/v1/images/generations`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { data: Item[]; model: string; error: { message: string; param: string | null } } };
  };

  beforeAll(async () => {
    await alice.newAccount();
    await bob.newAccount();
    secret = await newKey(alice);
    bobSecret = await newKey(bob);
  });

  it("/api/health and /v1/models say the local generator runs", async () => {
    const health = (await (await fetch(`${baseUrl}/api/health`)).json()) as { generator: Record<string, unknown> };
    expect(health.generator).toMatchObject({ status: "ready", id: "shapes-gen", kind: "local" });
    const list = await api().models.list();
    expect(list.data[1]).toMatchObject({ id: "shapes-gen", owned_by: "local", output_modalities: ["image"], sizes: ["64x64", "128x128", "256x256"] });
  });

  it("the openai client's images.generate draws a PNG of the asked size; a seed draws the same image again", async () => {
    const once = await api().images.generate({ prompt: "a red circle", size: "64x64", seed: 5 } as OpenAI.ImageGenerateParamsNonStreaming);
    const again = await api().images.generate({ prompt: "a red circle", size: "64x64", seed: 5 } as OpenAI.ImageGenerateParamsNonStreaming);
    const other = await api().images.generate({ prompt: "a red circle", size: "64x64", seed: 6 } as OpenAI.ImageGenerateParamsNonStreaming);
    const png = once.data![0]!.b64_json!;
    expect(await sharp(Buffer.from(png, "base64")).metadata()).toMatchObject({ format: "png", width: 64, height: 64 });
    expect((once.data![0] as Item).seed).toBe(5);
    expect(again.data![0]!.b64_json).toBe(png);
    expect(other.data![0]!.b64_json).not.toBe(png);

    const two = await post({ prompt: "a blue square", n: 2, size: "128x128", seed: 9 });
    expect(two.status).toBe(200);
    expect(two.body.model).toBe("shapes-gen");
    expect(two.body.data.map((d) => d.seed)).toEqual([9, 10]);
    expect(two.body.data[0]!.b64_json).not.toBe(two.body.data[1]!.b64_json);
    expect((await sharp(Buffer.from(two.body.data[1]!.b64_json, "base64")).metadata()).width).toBe(128);
  });

  it("refuses sizes and steps the local model does not make, naming its limits", async () => {
    const size = await post({ prompt: "a red circle", size: "512x512" });
    expect(size.status).toBe(400);
    expect(size.body.error).toMatchObject({ param: "size", message: expect.stringMatching(/one of 64x64, 128x128, 256x256/) });
    const steps = await post({ prompt: "a red circle", size: "64x64", steps: 1000 });
    expect(steps.status).toBe(400);
    expect(steps.body.error).toMatchObject({ param: "steps", message: expect.stringMatching(/from 1 to \d+/) });
    const n = await post({ prompt: "a red circle", size: "64x64", n: 5 });
    expect(n.status).toBe(400);
    expect(n.body.error.param).toBe("n");
  });

  it("store: true keeps the image in the library with its prompt and seed; CLIP sees what was asked; nobody else can read it", async () => {
    const r = await post({ prompt: "a green triangle", size: "64x64", seed: 3, store: true });
    expect(r.status).toBe(200);
    const id = r.body.data[0]!.attachment_id!;
    expect(id).toBeTruthy();

    const library = (await (await alice.fetch("/api/images")).json()) as { items: { id: string; generated: unknown }[] };
    expect(library.items.find((c) => c.id === id)?.generated).toEqual({ prompt: "a green triangle", seed: 3, generator: "shapes-gen" });

    // Indexed like any image: once CLIP has embedded it, its zero-shot label is what the prompt asked for.
    let labels: { label: string; probability: number }[] | null = null;
    for (let i = 0; i < 120 && !labels; i++) {
      const res = await alice.fetch(`/api/images/${id}/classify`, { method: "POST", json: { labels: ["a red circle", "a green triangle", "a blue square"] } });
      if (res.status === 200) labels = ((await res.json()) as { labels: { label: string; probability: number }[] }).labels;
      else await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(labels?.[0]?.label).toBe("a green triangle");

    expect((await bob.fetch(`/api/uploads/${id}`)).status).toBe(404);
    expect((await bob.fetch(`/api/images/${id}/classify`, { method: "POST", json: { labels: ["a", "b"] } })).status).toBe(404);
    const viaKey = await fetch(`${baseUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${bobSecret}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: (await api(bobSecret).models.list()).data[0]!.id,
        max_tokens: 4,
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: `/api/uploads/${id}` } }, { type: "text", text: "Colour?" }] }],
      }),
    });
    expect(viaKey.status).toBe(404);
  });
});
