import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { defineConfig } from "@playwright/test";

// Each run gets a fresh data directory: a real SQLite file and upload store. Password hashes are
// cheap (PASSWORD_HASH_COST=4, tests/helpers/server.ts says why); the sign-in pages are the same.
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-e2e-"));
const slowDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-e2e-slow-"));
const noloadDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-e2e-noload-"));
const port = Number(process.env.E2E_PORT ?? 3210);
/** A second app on the random-weight pair: it writes until its answer budget, so Stop always lands mid-answer. */
export const SLOW_PORT = port + 1;
/** A third app with ENGINE_PRELOAD=false: the model loads on the first message. */
export const NOLOAD_PORT = port + 2;

export default defineConfig({
  testDir: "tests/e2e",
  outputDir: "test-results/e2e",
  timeout: 120_000,
  expect: { timeout: 30_000 },
  fullyParallel: false,
  // One test at a time by default. Two (E2E_WORKERS=2) gave no gain on 2 cores: the e2e phase is
  // CPU-bound (vmstat: 2–7 % idle at two workers; 543 s against 554 s with one). Should more cores
  // be there, the tests on the shared slow app (tagged @slow-app: long answers, Stop mid-answer,
  // titles that wait for answers to end, the picker that loads another model there) still run
  // one at a time beside the others: two of them at once filled its slots and held a title back.
  workers: Number(process.env.E2E_WORKERS ?? 1),
  projects: [
    { name: "shared", grepInvert: /@slow-app/ },
    { name: "slow-app", grep: /@slow-app/, workers: 1 },
  ],
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    screenshot: "only-on-failure",
    // A failed test keeps its trace: every action with the page's DOM before and after it, the
    // network and the console. Not the screencast (screenshots: true): recording frames for every
    // test cost a fifth of the e2e phase's time on two cores (the browser and GPU processes
    // composited each frame, Playwright stored it), for tests that pass; the failure screenshot is
    // still taken.
    trace: { mode: "retain-on-failure", screenshots: false, snapshots: true, sources: true },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    },
  },
  webServer: [
    {
      command: "node --import tsx scripts/start.ts",
      url: `http://127.0.0.1:${port}/api/health`,
      timeout: 300_000,
      reuseExistingServer: false,
      stdout: "pipe",
      env: { DATA_DIR: dataDir, PORT: String(port), HOST: "127.0.0.1", DATABASE_URL: "", SIGNUP_LIMIT_PER_IP: "1000", SIGNIN_LIMIT_PER_IP: "1000", PASSWORD_HASH_COST: "4" },
    },
    {
      // Starts after the first, so the build is already there.
      command: "node_modules/.bin/tsx scripts/make-test-models.ts tiny && node --import tsx scripts/start.ts",
      url: `http://127.0.0.1:${SLOW_PORT}/api/health`,
      timeout: 300_000,
      reuseExistingServer: false,
      env: {
        DATA_DIR: slowDataDir,
        PORT: String(SLOW_PORT),
        HOST: "127.0.0.1",
        DATABASE_URL: "", SIGNUP_LIMIT_PER_IP: "1000", SIGNIN_LIMIT_PER_IP: "1000", PASSWORD_HASH_COST: "4",
        MODEL_PATH: ".cache/models/random-tiny-llava-64k-s1.gguf",
        MMPROJ_PATH: ".cache/models/mmproj-random-tiny-llava-64k-s1.gguf",
        // Two slots of 32k: an answer of up to 30 000 tokens lasts tens of seconds even on an idle
        // machine (the random pair writes ~800 tokens/s on llama-server), so Stop lands mid-answer.
        CONTEXT_SIZE: "65536",
        PARALLEL_SLOTS: "2",
        MAX_ANSWER_TOKENS: "30000",
        // Every account may load another model here (the picker test switches it).
        ADMIN_EMAILS: "*",
      },
    },
    {
      command: "node --import tsx scripts/start.ts",
      url: `http://127.0.0.1:${NOLOAD_PORT}/api/health`,
      timeout: 300_000,
      reuseExistingServer: false,
      env: { DATA_DIR: noloadDataDir, PORT: String(NOLOAD_PORT), HOST: "127.0.0.1", DATABASE_URL: "", SIGNUP_LIMIT_PER_IP: "1000", SIGNIN_LIMIT_PER_IP: "1000", PASSWORD_HASH_COST: "4", ENGINE_PRELOAD: "false" },
    },
  ],
});
