import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { startHubServer, type HubTestServer } from "../helpers/hub-server";
import { startServer, type RunningServer } from "../helpers/server";
import { signUpOnly } from "./helpers";

// The administrator pulls the demo pair by name from a local server that
// speaks the hub's API, watches the bar, loads it and asks about an image.
// An app of its own (an empty models folder, HF_ENDPOINT at that server),
// started after the configured ones, so the build is already there.

const root = path.resolve(import.meta.dirname, "..", "..");
const RED_CIRCLE = path.join(root, "tests", "fixtures", "red-circle.png");
const box = (page: Page) => page.getByLabel("Your message");

let hub: HubTestServer;
let app: RunningServer;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-e2e-models-"));
const modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-e2e-models-dir-"));

test.beforeAll(async () => {
  hub = await startHubServer({
    "test-org/Mini-VL-GGUF": {
      files: [
        { path: "README.md", data: Buffer.from("# Mini VL\n") },
        { path: "Mini-VL-Q4_K_M.gguf", data: fs.readFileSync(path.join(root, "models", "tiny", "mini-llava-shapes.gguf")) },
        { path: "mmproj-Mini-VL-f16.gguf", data: fs.readFileSync(path.join(root, "models", "tiny", "mmproj-mini-llava-shapes.gguf")) },
      ],
    },
  });
  // About 4 s for the 12 MB pair: long enough to see the bar move.
  hub.throttle(3_000_000);
  app = await startServer({ dataDir, env: { MODELS_DIR: modelsDir, HF_ENDPOINT: hub.url, DATABASE_URL: "", SIGNUP_LIMIT_PER_IP: "1000", SIGNIN_LIMIT_PER_IP: "1000" } });
});

test.afterAll(async () => {
  await app?.stop();
  await hub?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(modelsDir, { recursive: true, force: true });
});

test("the admin pulls a model by name, watches the bar, loads it and asks about an image", async ({ page }) => {
  // The first account administers the server.
  await signUpOnly(page, app.url);
  await page.goto(`${app.url}/models`);
  await expect(page.getByText("No models yet.")).toBeVisible();

  await page.getByLabel("Model name").fill("test-org/Mini-VL-GGUF");
  await page.getByRole("button", { name: "Pull" }).click();
  const bar = page.getByRole("progressbar", { name: "Pull progress" });
  await expect(bar).toBeVisible();
  // The bar moves: part of the bytes, then more.
  await expect.poll(async () => Number(await bar.getAttribute("value")), { timeout: 20_000 }).toBeGreaterThan(0);
  await expect(page.getByTestId("pull-progress")).toHaveText(/\d+% · [\d.]+ MB \/ 12\.2 MB · [\d.]+ MB\/s/);
  await expect(page.getByRole("button", { name: "Cancel" })).toBeVisible();
  await expect(page.getByText("Installed test-org/Mini-VL-GGUF:Q4_K_M with its vision projector.")).toBeVisible({ timeout: 60_000 });

  const row = page.getByTestId("model-Mini-VL-Q4_K_M");
  await expect(row).toContainText("image");
  await expect(row).toContainText("from test-org/Mini-VL-GGUF:Q4_K_M");
  await expect(row).toContainText(/fits in (RAM|GPU memory)/);
  await row.getByRole("button", { name: "Load" }).click();
  await expect(row.getByText("loaded", { exact: true })).toBeVisible({ timeout: 60_000 });

  await page.goto(app.url);
  await expect(page.getByText("sees images", { exact: true })).toBeVisible({ timeout: 60_000 });
  await page.getByTestId("file-input").setInputFiles([RED_CIRCLE]);
  await expect(page.getByRole("list", { name: "Attached images" }).getByRole("img")).toHaveCount(1);
  await box(page).fill("What colour is the shape?");
  await expect(page.getByRole("button", { name: "Send" })).toBeEnabled();
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page.getByRole("article", { name: "Assistant" }).first()).toContainText(/red/i, { timeout: 60_000 });
});
