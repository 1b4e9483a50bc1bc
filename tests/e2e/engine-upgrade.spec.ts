import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { llamaServerBinary } from "../helpers/engine";
import { startServer, type RunningServer } from "../helpers/server";
import { signUpOnly } from "./helpers";

// Issue 23: a newcomer's `npm start` with no llama-server built. The app
// serves on the in-process engine at once, builds llama-server in the
// background, and the model badge shows it; when the build is done it moves
// to llama-server in the same process, and the conversation goes on. The
// "build" is tests/helpers/fake-engine-build.mjs: cmake-style progress, then
// a copy of the llama-server that `npm run engine:build` built for this suite.

const SHOTS = path.join("test-results", "screens-23");
const assistant = (page: Page) => page.getByRole("article", { name: "Assistant" });

test.describe("the model badge during the background build and hand-over", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-e2e-upgrade-"));
  const cppDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-e2e-upgrade-cpp-"));
  const go = path.join(cppDir, "go");
  let server: RunningServer;

  test.beforeAll(async () => {
    test.setTimeout(300_000);
    server = await startServer({
      dataDir,
      env: {
        ENGINE: "auto",
        LLAMA_CPP_DIR: cppDir,
        ENGINE_BUILD_COMMAND: `"${process.execPath}" tests/helpers/fake-engine-build.mjs`,
        FAKE_BUILD_FROM: path.dirname(llamaServerBinary().binary),
        FAKE_BUILD_GO: go,
        SIGNUP_LIMIT_PER_IP: "1000",
        SIGNIN_LIMIT_PER_IP: "1000",
      },
    });
  });
  test.afterAll(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(cppDir, { recursive: true, force: true });
  });

  test("building shows its progress, then the badge says llama-server and the same chat goes on", async ({ page }) => {
    test.setTimeout(240_000);
    await signUpOnly(page, server.url);
    const badge = page.getByTestId("engine-badge");
    // In-process meanwhile, with the build's progress beside it.
    await expect(badge).toHaveText(/^in-process · CPU · building llama-server \d+%/, { timeout: 60_000 });
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, "badge-building.png") });

    // A conversation started before the hand-over.
    await page.getByLabel("Your message").fill("Hello! What do you know about?");
    await page.getByLabel("Your message").press("Enter");
    await expect(assistant(page).first().locator(".markdown")).not.toBeEmpty({ timeout: 60_000 });
    await expect(page.getByRole("button", { name: "Send" })).toBeVisible({ timeout: 60_000 });
    await expect(page).toHaveURL(/\/c\/[a-z0-9]+$/);
    const before = (await (await fetch(`${server.url}/api/health`)).json()) as { model: { engine: { kind: string } } };
    expect(before.model.engine.kind).toBe("in-process");

    // The build finishes: the badge changes by itself, no reload.
    fs.writeFileSync(go, "");
    await expect(badge).toHaveText(/^llama-server · CPU$/, { timeout: 120_000 });
    await page.screenshot({ path: path.join(SHOTS, "badge-llama-server.png") });

    // The same conversation continues on llama-server.
    await page.getByLabel("Your message").fill("What shapes do you know?");
    await page.getByLabel("Your message").press("Enter");
    await expect(assistant(page)).toHaveCount(2);
    await expect(assistant(page).nth(1).locator(".markdown")).not.toBeEmpty({ timeout: 60_000 });
    await expect(page.getByRole("button", { name: "Send" })).toBeVisible({ timeout: 60_000 });
    await expect(assistant(page).nth(1)).not.toContainText("failed");
    const after = (await (await fetch(`${server.url}/api/health`)).json()) as { model: { engine: { kind: string } } };
    expect(after.model.engine.kind).toBe("llama-server");
  });
});
