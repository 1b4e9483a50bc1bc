import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, defaultThreads, loadEnv, physicalCores } from "@/lib/env-schema";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "lvc-env-"));

describe("loadEnv", () => {
  it("fills in the embedded defaults", () => {
    const dir = tmp();
    const env = loadEnv({ DATA_DIR: dir });
    expect(env).toMatchObject({
      DATA_DIR: dir,
      DATABASE_URL: `file:${path.join(dir, "app.db")}`,
      UPLOAD_DIR: path.join(dir, "uploads"),
      GPU: "auto",
      GPU_LAYERS: "auto",
      HOST: "127.0.0.1",
      PORT: 3000,
      PARALLEL_SLOTS: 4,
      UPLOAD_MAX_SIDE: 2048,
      MAX_IMAGES_PER_MESSAGE: 8,
      TRUST_PROXY: false,
    });
    expect(env.THREADS).toBeUndefined();
    expect(env.ENGINE).toBe("auto");
    const cores = os.availableParallelism();
    expect(defaultThreads("in-process")).toBe(Math.min(4, Math.max(1, cores - 1)));
    expect(defaultThreads("llama-server")).toBe(Math.min(8, physicalCores()));
    expect(physicalCores()).toBeGreaterThanOrEqual(1);
    expect(physicalCores()).toBeLessThanOrEqual(cores);
  });

  it("takes a bcrypt cost from 4 to 13 for new password hashes, 11 by default", () => {
    const dir = tmp();
    expect(loadEnv({ DATA_DIR: dir }).PASSWORD_HASH_COST).toBe(11);
    expect(loadEnv({ DATA_DIR: dir, PASSWORD_HASH_COST: "4" }).PASSWORD_HASH_COST).toBe(4);
    expect(() => loadEnv({ DATA_DIR: dir, PASSWORD_HASH_COST: "3" })).toThrow(/PASSWORD_HASH_COST=/);
    expect(() => loadEnv({ DATA_DIR: dir, PASSWORD_HASH_COST: "14" })).toThrow(/PASSWORD_HASH_COST=/);
  });

  it("takes APP_URL as an origin, defaulting to the address the server listens on", () => {
    const dir = tmp();
    expect(loadEnv({ DATA_DIR: dir }).APP_URL).toBe("http://127.0.0.1:3000");
    expect(loadEnv({ DATA_DIR: dir, HOST: "0.0.0.0", PORT: "8080" }).APP_URL).toBe("http://127.0.0.1:8080");
    expect(loadEnv({ DATA_DIR: dir, HOST: "::1" }).APP_URL).toBe("http://[::1]:3000");
    expect(loadEnv({ DATA_DIR: dir, APP_URL: "https://Chat.Example.com/" }).APP_URL).toBe("https://chat.example.com");
    expect(() => loadEnv({ DATA_DIR: dir, APP_URL: "https://chat.example.com/app" })).toThrow(/APP_URL=.*without a path/);
    expect(() => loadEnv({ DATA_DIR: dir, APP_URL: "ftp://chat.example.com" })).toThrow(/APP_URL=.*http\(s\) URL/);
  });

  it("reads ENGINE_URL as a list of http(s) URLs and refuses anything else", () => {
    const dir = tmp();
    expect(loadEnv({ DATA_DIR: dir, ENGINE_URL: "http://127.0.0.1:8080, http://10.0.0.2:11434/v1" }).ENGINE_URL).toEqual([
      "http://127.0.0.1:8080",
      "http://10.0.0.2:11434/v1",
    ]);
    expect(() => loadEnv({ DATA_DIR: dir, ENGINE_URL: "file:///etc/passwd" })).toThrow(/^Invalid configuration: ENGINE_URL=/);
    expect(() => loadEnv({ DATA_DIR: dir, ENGINE: "cloud" })).toThrow(/^Invalid configuration: ENGINE="cloud"/);
  });

  it("reads the background build's switch and the hub's mirror", () => {
    const dir = tmp();
    expect(loadEnv({ DATA_DIR: dir }).ENGINE_AUTOBUILD).toBe(true);
    for (const off of ["0", "false", "OFF", " no "]) expect(loadEnv({ DATA_DIR: dir, ENGINE_AUTOBUILD: off }).ENGINE_AUTOBUILD).toBe(false);
    expect(loadEnv({ DATA_DIR: dir, HF_ENDPOINT: "http://127.0.0.1:9000" }).HF_ENDPOINT).toBe("http://127.0.0.1:9000");
    expect(() => loadEnv({ DATA_DIR: dir, HF_ENDPOINT: "hf-mirror.com" })).toThrow(/^Invalid configuration: HF_ENDPOINT=/);
  });

  it("generates the auth secret once, 0600, and reuses it", () => {
    const dir = tmp();
    const first = loadEnv({ DATA_DIR: dir }).AUTH_SECRET;
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(fs.statSync(path.join(dir, "auth-secret")).mode & 0o777).toBe(0o600);
    expect(loadEnv({ DATA_DIR: dir }).AUTH_SECRET).toBe(first);
    expect(loadEnv({ DATA_DIR: dir, AUTH_SECRET: "s".repeat(40) }).AUTH_SECRET).toBe("s".repeat(40));
  });

  it.each([
    [{ GPU: "quantum" }, /^Invalid configuration: GPU="quantum": .*"auto".*"cuda".*"vulkan".*"cpu"/],
    [{ PORT: "http" }, /^Invalid configuration: PORT="http"/],
    [{ PORT: "70000" }, /^Invalid configuration: PORT="70000"/],
    [{ GPU_LAYERS: "most" }, /^Invalid configuration: GPU_LAYERS="most"/],
    [{ THREADS: "0" }, /^Invalid configuration: THREADS="0"/],
    [{ DATABASE_URL: "mysql://x" }, /^Invalid configuration: DATABASE_URL=.*SQLite URL.*PostgreSQL URL/],
    [{ DATABASE_URL: "/var/app.db" }, /^Invalid configuration: DATABASE_URL=.*SQLite URL/],
    [{ AUTH_SECRET: "short" }, /^Invalid configuration: AUTH_SECRET=.*at least 32/],
  ])("rejects %o with one line naming the variable", (vars, message) => {
    const run = () => loadEnv({ DATA_DIR: tmp(), ...vars });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(message);
  });

  it("accepts a PostgreSQL DATABASE_URL as it is", () => {
    for (const url of ["postgresql://app:secret@db.example:5432/chat", "postgres://app@localhost/chat?host=/run/postgresql"]) {
      expect(loadEnv({ DATA_DIR: tmp(), DATABASE_URL: url }).DATABASE_URL).toBe(url);
    }
  });

  it("accepts numbers for GPU_LAYERS and treats empty values as unset", () => {
    expect(loadEnv({ DATA_DIR: tmp(), GPU_LAYERS: "12", PORT: "" })).toMatchObject({ GPU_LAYERS: 12, PORT: 3000 });
  });

  it("creates a missing data folder that only this user can enter", () => {
    const dir = path.join(tmp(), "fresh", "data");
    const prev = process.umask(0o022);
    try {
      loadEnv({ DATA_DIR: dir });
    } finally {
      process.umask(prev);
    }
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(dir, "auth-secret")).mode & 0o777).toBe(0o600);
  });
});
