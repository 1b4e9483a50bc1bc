import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { SLOW_PORT } from "../../playwright.config";
import { signUp } from "./helpers";

const RED_CIRCLE = fs.readFileSync(path.resolve(import.meta.dirname, "..", "fixtures", "red-circle.png")).toString("base64");
const SHOTS = path.resolve(import.meta.dirname, "..", "..", "test-results", "screenshots");

/** A DataTransfer holding the red-circle PNG, built inside the page. */
const imageTransfer = (page: Page) =>
  page.evaluateHandle((b64) => {
    const dt = new DataTransfer();
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    dt.items.add(new File([bytes], "red-circle.png", { type: "image/png" }));
    return dt;
  }, RED_CIRCLE);

const assistant = (page: Page) => page.getByRole("article", { name: "Assistant" });

test("drop, paste, ask, stop, regenerate, find it again, rename, delete — and nobody else sees it", async ({ page, browser }) => {
  await signUp(page);
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, "empty-desktop-light.png") });

  // Drag and drop an image onto the chat.
  const dropped = await imageTransfer(page);
  await page.dispatchEvent("main.chat", "dragover", { dataTransfer: dropped });
  await page.dispatchEvent("main.chat", "drop", { dataTransfer: dropped });
  const thumbs = page.getByRole("list", { name: "Attached images" });
  await expect(thumbs.getByRole("img")).toHaveCount(1);
  await expect(thumbs.getByRole("progressbar")).toHaveCount(0);

  // Ask; the answer streams in and says red.
  await page.getByLabel("Your message").fill("What color is the circle?");
  await page.getByLabel("Your message").press("Enter");
  await expect(assistant(page).last()).toContainText("red");
  await expect(page).toHaveURL(/\/c\/[a-z0-9]+$/);
  const conversationUrl = page.url();
  await expect(page.getByRole("article", { name: "You" }).getByRole("img", { name: "Attached image" })).toBeVisible();
  // The speed line is folded into a small "i" that expands.
  await page.getByRole("article", { name: "Assistant" }).last().getByLabel("Answer details").click();
  await expect(page.getByText(/tok\/s/).last()).toBeVisible();
  await page.screenshot({ path: path.join(SHOTS, "chat-desktop-light.png") });

  // Paste an image from the clipboard into the composer.
  const pasted = await imageTransfer(page);
  await page.getByLabel("Your message").focus();
  await page.evaluate((dt) => {
    const event = new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true });
    document.querySelector('textarea[aria-label="Your message"]')!.dispatchEvent(event);
  }, pasted);
  await expect(thumbs.getByRole("img")).toHaveCount(1);
  await expect(thumbs.getByRole("progressbar")).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  await page.getByLabel("Your message").fill("What shape is red?");
  await page.getByRole("button", { name: "Send" }).click();
  await expect(assistant(page).last()).toContainText("circle");

  // Regenerate the last answer (the same question, answered again).
  await expect(page.getByRole("button", { name: "Stop" })).toHaveCount(0);
  await assistant(page).nth(1).getByRole("button", { name: "Regenerate" }).click();
  await expect(assistant(page).nth(1)).toContainText("circle");
  await expect(assistant(page)).toHaveCount(2);
  // The earlier answer is kept as a version.
  await expect(assistant(page).nth(1).getByRole("group", { name: "Answer versions" })).toContainText("2/2");

  // Reload: the conversation is in the sidebar (by now under the title the model wrote), with its image.
  await page.reload();
  const sidebar = page.getByRole("navigation", { name: "Conversations" });
  const listed = sidebar.locator(`a[href="${new URL(conversationUrl).pathname}"]`);
  await expect(listed).toBeVisible();
  const title = await listed.innerText();
  await expect(page.getByRole("article", { name: "You" }).first().getByRole("img")).toBeVisible();
  await expect(assistant(page).first()).toContainText("red");

  // A second account can neither list nor open it.
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await signUp(otherPage);
  await expect(otherPage.getByRole("navigation", { name: "Conversations" }).getByText(title)).toHaveCount(0);
  const response = await otherPage.goto(conversationUrl);
  expect(response?.status()).toBe(404);
  await other.close();

  // Rename, then delete with confirmation (both in the row's ⋯ menu).
  await sidebar.getByRole("button", { name: `Actions for ${title}` }).click();
  await sidebar.getByRole("button", { name: `Rename ${title}` }).click();
  await sidebar.getByLabel("New title").fill("Red circle");
  await sidebar.getByLabel("New title").press("Enter");
  await expect(sidebar.getByRole("link", { name: "Red circle" })).toBeVisible();
  await sidebar.getByRole("button", { name: "Actions for Red circle" }).click();
  await sidebar.getByRole("button", { name: "Delete Red circle" }).click();
  await sidebar.getByRole("button", { name: "Yes, delete" }).click();
  await expect(sidebar.getByRole("link", { name: "Red circle" })).toHaveCount(0);
  await expect(page).toHaveURL(/\/$/);
});

test("screens at phone width and in dark mode", async ({ page }) => {
  fs.mkdirSync(SHOTS, { recursive: true });
  await signUp(page);
  await page.getByRole("button", { name: "Try the sample image" }).click();
  await expect(page.getByRole("list", { name: "Attached images" }).getByRole("img")).toHaveCount(1);
  await expect(page.getByRole("list", { name: "Attached images" }).getByRole("progressbar")).toHaveCount(0);
  await expect(page.getByLabel("Your message")).toHaveValue("Describe the image.");
  // The composer has the focus: Enter sends (it used to attach the sample a second time).
  await page.keyboard.press("Enter");
  await expect(page.getByRole("article", { name: "You" }).getByRole("img")).toHaveCount(1);
  await expect(assistant(page).last()).toContainText(/circle|square/);
  await page.screenshot({ path: path.join(SHOTS, "chat-desktop-light-sample.png") });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.screenshot({ path: path.join(SHOTS, "chat-desktop-dark.png") });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(400); // the sidebar slides away
  await page.screenshot({ path: path.join(SHOTS, "chat-phone-dark.png") });
  await page.emulateMedia({ colorScheme: "light" });
  await page.screenshot({ path: path.join(SHOTS, "chat-phone-light.png") });
  // The model's whole name fits on the phone's header (the buttons wrap below it; it was cut to "mini-llav…").
  const name = page.locator(".chat-header .model-status strong");
  expect(await name.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
  // Scrolled up, the ↓ button sits above the composer, clear of Send, however tall the composer is.
  await page.setViewportSize({ width: 390, height: 520 });
  await page.getByLabel("Your message").fill("A long question\nover\nseveral\nlines");
  await page.locator(".messages").evaluate((el) => el.scrollTo(0, 0));
  const down = page.getByRole("button", { name: "Scroll to the newest message" });
  await expect(down).toBeVisible();
  const [arrow, composer] = [(await down.boundingBox())!, (await page.getByRole("form", { name: "Message" }).boundingBox())!];
  expect(arrow.y + arrow.height).toBeLessThanOrEqual(composer.y);
  await page.screenshot({ path: path.join(SHOTS, "chat-phone-scrolled-light.png") });
  await page.getByLabel("Your message").fill("");
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole("button", { name: "Conversations" }).click();
  await expect(page.getByRole("navigation", { name: "Conversations" }).locator(`a[href="${new URL(page.url()).pathname}"]`)).toBeVisible();
  await page.waitForTimeout(400);
  await page.screenshot({ path: path.join(SHOTS, "sidebar-phone-light.png") });
  await page.goto("/signin");
  await page.screenshot({ path: path.join(SHOTS, "signin-phone-light.png") });
});

test("Stop (and Esc) ends the answer mid-stream and keeps what was written", { tag: "@slow-app" }, async ({ page }) => {
  // The second app runs random weights, which write until the answer budget.
  await page.goto(`http://127.0.0.1:${SLOW_PORT}/signup`);
  await page.getByLabel("Email").fill(`e2e-${randomUUID()}@example.test`);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page.getByText("sees images", { exact: true })).toBeVisible({ timeout: 60_000 });
  await page.getByLabel("Your message").fill("Hello");
  await page.getByLabel("Your message").press("Enter");
  await expect(page.getByRole("button", { name: "Stop" })).toBeVisible();
  await expect(assistant(page).first().locator(".markdown")).not.toBeEmpty();
  await page.getByRole("button", { name: "Stop" }).click();
  await expect(page.getByRole("button", { name: "Stop" })).toHaveCount(0);
  const shown = await assistant(page).first().locator(".markdown").innerText();
  // The answer budget is 8000 tokens; Stop came long before.
  expect(shown.length).toBeGreaterThan(0);
  expect(shown.length).toBeLessThan(7000);
  // After a reload the saved answer is there, marked as stopped.
  await page.waitForTimeout(500);
  await page.reload();
  await expect(assistant(page).first()).toContainText("Stopped");
  const saved = await assistant(page).first().locator(".markdown").innerText();
  expect(saved.length).toBeLessThan(7000);

  // Esc works too.
  await page.getByLabel("Your message").fill("Again");
  await page.getByLabel("Your message").press("Enter");
  await expect(assistant(page).nth(1).locator(".markdown")).not.toBeEmpty();
  await page.keyboard.press("Escape");
  await expect(page.getByRole("button", { name: "Stop" })).toHaveCount(0);
  await expect(assistant(page).nth(1)).toContainText("Stopped");
});
