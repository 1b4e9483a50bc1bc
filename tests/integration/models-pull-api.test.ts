import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureRandomPair } from "@/lib/gguf/random-pair";
import { TestClient } from "../helpers/client";
import { MODEL_CACHE } from "../helpers/engine";
import { startHubServer, type HubTestServer } from "../helpers/hub-server";
import { startServer, type RunningServer } from "../helpers/server";

// The Models page's API on a real app whose models folder starts empty and
// whose HF_ENDPOINT is a local server that speaks the hub's API.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const root = path.resolve(import.meta.dirname, "..", "..");

interface Pull {
  id: string;
  state: string;
  progress: { bytes: number; total: number };
  result?: { modelId: string; textOnly: boolean };
  error?: string;
}

describe("the Models page's API", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-models-api-"));
  const modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-models-api-dir-"));
  let hub: HubTestServer;
  let server: RunningServer;
  let admin: TestClient;

  beforeAll(async () => {
    const random = ensureRandomPair({ dir: MODEL_CACHE, preset: "tiny" });
    hub = await startHubServer({
      "test-org/Tiny-VL-GGUF": { files: [{ path: "Tiny-VL-Q4_K_M.gguf", data: fs.readFileSync(random.llm) }, { path: "mmproj-Tiny-VL-f16.gguf", data: fs.readFileSync(random.mmproj) }] },
      "test-org/Mini-VL-GGUF": { files: [{ path: "Mini-VL-Q8_0.gguf", data: fs.readFileSync(path.join(root, "models", "tiny", "mini-llava-shapes.gguf")) }] },
    });
    server = await startServer({ dataDir, env: { MODELS_DIR: modelsDir, HF_ENDPOINT: hub.url } });
    admin = new TestClient(server.url);
    await admin.newAccount();
  });
  afterAll(async () => {
    await server?.stop();
    await hub?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(modelsDir, { recursive: true, force: true });
  });

  async function until(id: string, done: (p: Pull) => boolean): Promise<Pull> {
    for (let i = 0; i < 600; i++) {
      const { pulls } = (await (await admin.fetch("/api/models/pulls")).json()) as { pulls: Pull[] };
      const p = pulls.find((x) => x.id === id)!;
      if (done(p)) return p;
      await sleep(50);
    }
    throw new Error("the pull did not get there");
  }

  it("pulls by name, lists the model, loads it, and deletes it once another is loaded", async () => {
    const installed = async () => (await (await admin.fetch("/api/models/installed")).json()) as { models: { id: string; takes: string[] }[]; loaded: string | null };
    expect((await installed()).models).toEqual([]);
    const start = await admin.fetch("/api/models/pulls", { method: "POST", json: { name: "test-org/Tiny-VL-GGUF" } });
    expect(start.status).toBe(202);
    const { pull } = (await start.json()) as { pull: Pull };
    const done = await until(pull.id, (p) => p.state !== "running");
    expect(done).toMatchObject({ state: "done", result: { modelId: "Tiny-VL-Q4_K_M", textOnly: false } });
    expect((await installed()).models.map((m) => [m.id, m.takes])).toEqual([["Tiny-VL-Q4_K_M", ["text", "image", "video"]]]);
    // The chat's picker sees it too, without a restart.
    expect(((await (await admin.fetch("/api/models")).json()) as { models: { id: string }[] }).models.map((m) => m.id)).toEqual(["Tiny-VL-Q4_K_M"]);

    expect((await admin.fetch("/api/models", { method: "POST", json: { id: "Tiny-VL-Q4_K_M" } })).status).toBe(202);
    for (let i = 0; i < 600 && (await installed()).loaded !== "Tiny-VL-Q4_K_M"; i++) await sleep(100);
    expect((await installed()).loaded).toBe("Tiny-VL-Q4_K_M");
    const refused = await admin.fetch("/api/models/installed/Tiny-VL-Q4_K_M", { method: "DELETE" });
    expect(refused.status).toBe(409);

    const text = (await (await admin.fetch("/api/models/pulls", { method: "POST", json: { name: "test-org/Mini-VL-GGUF" } })).json()) as { pull: Pull };
    expect(await until(text.pull.id, (p) => p.state !== "running")).toMatchObject({ state: "done", result: { modelId: "Mini-VL-Q8_0", textOnly: true } });
    expect((await admin.fetch("/api/models", { method: "POST", json: { id: "Mini-VL-Q8_0" } })).status).toBe(202);
    for (let i = 0; i < 600 && (await installed()).loaded !== "Mini-VL-Q8_0"; i++) await sleep(100);
    expect((await admin.fetch("/api/models/installed/Tiny-VL-Q4_K_M", { method: "DELETE" })).status).toBe(200);
    expect((await installed()).models.map((m) => m.id)).toEqual(["Mini-VL-Q8_0"]);
    expect(fs.existsSync(path.join(modelsDir, "test-org", "Tiny-VL-GGUF"))).toBe(false);
  });

  it("cancels a running pull and deletes its partial files", async () => {
    hub.throttle(500_000);
    try {
      const dir = path.join(modelsDir, "test-org", "Tiny-VL-GGUF");
      const { pull } = (await (await admin.fetch("/api/models/pulls", { method: "POST", json: { name: "test-org/Tiny-VL-GGUF" } })).json()) as { pull: Pull };
      await until(pull.id, (p) => p.progress.bytes > 0);
      // One pull at a time.
      expect((await admin.fetch("/api/models/pulls", { method: "POST", json: { name: "test-org/Mini-VL-GGUF:Q8_0" } })).status).toBe(409);
      expect((await admin.fetch(`/api/models/pulls/${pull.id}`, { method: "DELETE" })).status).toBe(200);
      expect(await until(pull.id, (p) => p.state !== "running")).toMatchObject({ state: "cancelled" });
      expect(fs.readdirSync(path.join(modelsDir, ".pulls"))).toEqual([]);
      expect(fs.existsSync(dir)).toBe(false);
    } finally {
      hub.throttle(0);
    }
  });

  it("is for the administrator only, and refuses a malformed name", async () => {
    const other = new TestClient(server.url);
    await other.newAccount();
    for (const [url, method] of [["/api/models/installed", "GET"], ["/api/models/pulls", "GET"], ["/api/models/pulls", "POST"], ["/api/models/installed/x", "DELETE"]] as const) {
      const res = await other.fetch(url, { method, json: method === "POST" ? { name: "a/b" } : undefined });
      expect(res.status, `${method} ${url}`).toBe(403);
    }
    const bad = await admin.fetch("/api/models/pulls", { method: "POST", json: { name: "../../etc" } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/expected <owner>\/<repo>\[:<quant>\]/);
  });
});
