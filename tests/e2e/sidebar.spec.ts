import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { SLOW_PORT } from "../../playwright.config";
import { signUp } from "./helpers";

const SHOTS = path.resolve(import.meta.dirname, "..", "..", "test-results", "screenshots");
const PHONE = { width: 390, height: 844 };

const sidebar = (page: Page) => page.getByRole("navigation", { name: "Conversations" });
/** The titles in the sidebar, top to bottom (also while the phone drawer is closed). */
const titles = (page: Page) =>
  page.getByRole("navigation", { name: "Conversations", includeHidden: true }).locator(".conversation-item > a").allTextContents();

/** Accessibility problems axe finds in the sidebar, as "rule: element" lines. */
async function axeProblems(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).include("nav.sidebar").analyze();
  return violations.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(" ")}`));
}

/** Creates conversations through the API from the signed-in page, oldest first; returns their ids. */
async function createConversations(page: Page, names: string[]): Promise<string[]> {
  return page.evaluate(async (names) => {
    const ids: string[] = [];
    for (const title of names) {
      const res = await fetch("/api/conversations", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ title }) });
      if (res.status !== 201) throw new Error(`create failed: ${res.status}`);
      ids.push(((await res.json()) as { conversation: { id: string } }).conversation.id);
      // Distinct activity times, so the list order is the creation order.
      await new Promise((r) => setTimeout(r, 5));
    }
    return ids;
  }, names);
}

test("phone: the ☰ button sits inside the header, a tap outside or a navigation closes the drawer, ⋯ works by touch", async ({ browser }) => {
  fs.mkdirSync(SHOTS, { recursive: true });
  const context = await browser.newContext({ viewport: PHONE, hasTouch: true, isMobile: true });
  const page = await context.newPage();
  await signUp(page);
  await createConversations(page, ["Shapes", "Colours", "Counting"]);
  await page.reload();

  // The toggle fits within the header, clear of its bottom border.
  const toggle = page.getByRole("button", { name: "Conversations" });
  const button = (await toggle.boundingBox())!;
  const header = (await page.locator(".chat-header").boundingBox())!;
  expect(button.y).toBeGreaterThanOrEqual(header.y);
  expect(button.y + button.height).toBeLessThanOrEqual(header.y + header.height - 1 - 2);
  await page.locator(".chat-header").screenshot({ path: path.join(SHOTS, "sidebar-phone-header.png") });

  // Closed, the drawer is out of reach; open, it shows the list.
  await expect(sidebar(page).getByRole("link", { name: "Counting" })).toBeHidden();
  await toggle.tap();
  await expect(sidebar(page).getByRole("link", { name: "Counting" })).toBeVisible();
  await expect(toggle).toHaveAttribute("aria-expanded", "true");
  await page.waitForTimeout(300); // the slide-in
  expect(await axeProblems(page)).toEqual([]);
  await page.screenshot({ path: path.join(SHOTS, "sidebar-phone-light.png") });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.screenshot({ path: path.join(SHOTS, "sidebar-phone-dark.png") });
  await page.emulateMedia({ colorScheme: "light" });

  // A tap on the dimmed page beside the drawer closes it.
  await page.touchscreen.tap(PHONE.width - 20, PHONE.height / 2);
  await expect(toggle).toHaveAttribute("aria-expanded", "false");
  await expect(sidebar(page).getByRole("link", { name: "Counting" })).toBeHidden();

  // Following a link closes it too.
  await toggle.tap();
  await sidebar(page).getByRole("link", { name: "Colours" }).tap();
  await expect(page).toHaveURL(/\/c\/[a-z0-9]+$/);
  await expect(toggle).toHaveAttribute("aria-expanded", "false");
  await expect(sidebar(page).getByRole("link", { name: "Colours" })).toBeHidden();

  // No hover on a touch screen: every row shows its ⋯ button; rename and delete are a tap away.
  await toggle.tap();
  const menu = sidebar(page).getByRole("button", { name: "Actions for Shapes" });
  await expect(menu).toBeVisible();
  await expect(menu).toHaveCSS("opacity", "1");
  await menu.tap();
  await sidebar(page).getByRole("button", { name: "Rename Shapes" }).tap();
  await sidebar(page).getByLabel("New title").fill("Shapes on a phone");
  await sidebar(page).getByLabel("New title").press("Enter");
  await expect(sidebar(page).getByRole("link", { name: "Shapes on a phone" })).toBeVisible();
  await sidebar(page).getByRole("button", { name: "Actions for Counting" }).tap();
  await sidebar(page).getByRole("button", { name: "Delete Counting" }).tap();
  await sidebar(page).getByRole("button", { name: "Yes, delete" }).tap();
  await expect(sidebar(page).getByRole("link", { name: "Counting" })).toHaveCount(0);
  await page.reload();
  expect(await titles(page)).toEqual(["Colours", "Shapes on a phone"]);
  await context.close();
});

test("rename: Esc cancels, Enter and leaving the field save, the keyboard reaches it, and the order stays", async ({ page }) => {
  fs.mkdirSync(SHOTS, { recursive: true });
  await signUp(page);
  await createConversations(page, ["Oldest", "Middle", "Newest"]);
  await page.reload();
  expect(await titles(page)).toEqual(["Newest", "Middle", "Oldest"]);
  // Everything made today sits under one heading.
  await expect(sidebar(page).getByRole("heading", { name: "Today" })).toBeVisible();
  await expect(sidebar(page).getByRole("heading")).toHaveCount(1);

  // With a mouse, the ⋯ button of an inactive row waits for hover.
  const oldestMenu = sidebar(page).getByRole("button", { name: "Actions for Oldest" });
  await expect(oldestMenu).toHaveCSS("opacity", "0");
  await sidebar(page).getByRole("link", { name: "Oldest" }).hover();
  await expect(oldestMenu).toHaveCSS("opacity", "1");

  // Esc cancels: the title is unchanged, here and on the server.
  await oldestMenu.click();
  await sidebar(page).getByRole("button", { name: "Rename Oldest" }).click();
  const field = sidebar(page).getByLabel("New title");
  await expect(field).toBeFocused();
  // Styled like the app's other fields (the search box).
  for (const property of ["border-radius", "background-color", "border-top-width", "font-family"]) {
    const search = await sidebar(page).getByLabel("Search conversations").evaluate((el, p) => getComputedStyle(el).getPropertyValue(p), property);
    await expect(field).toHaveCSS(property, search);
  }
  await page.screenshot({ path: path.join(SHOTS, "sidebar-desktop-rename.png") });
  await field.fill("Not this");
  await field.press("Escape");
  await expect(field).toHaveCount(0);
  await expect(sidebar(page).getByRole("link", { name: "Oldest" })).toBeVisible();

  // Enter saves; the renamed conversation stays where it was.
  await oldestMenu.click();
  await sidebar(page).getByRole("button", { name: "Rename Oldest" }).click();
  await field.fill("Oldest, renamed");
  await field.press("Enter");
  await expect(sidebar(page).getByRole("link", { name: "Oldest, renamed" })).toBeVisible();

  // Keyboard only: Tab to ⋯, Enter opens it, Tab to Rename; leaving the field (Tab) saves.
  const middleMenu = sidebar(page).getByRole("button", { name: "Actions for Middle" });
  await sidebar(page).getByRole("link", { name: "Middle" }).focus();
  await page.keyboard.press("Tab");
  await expect(middleMenu).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(middleMenu).toHaveAttribute("aria-expanded", "true");
  await page.keyboard.press("Tab");
  await expect(sidebar(page).getByRole("button", { name: "Rename Middle" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(field).toBeFocused();
  await page.keyboard.type("Middle, renamed by keyboard");
  await page.keyboard.press("Tab");
  await expect(sidebar(page).getByRole("link", { name: "Middle, renamed by keyboard" })).toBeVisible();

  // After a reload (the server's order): still by last activity, not by rename.
  await page.reload();
  expect(await titles(page)).toEqual(["Newest", "Middle, renamed by keyboard", "Oldest, renamed"]);
  await page.screenshot({ path: path.join(SHOTS, "sidebar-desktop-light.png") });
  expect(await axeProblems(page)).toEqual([]);
  await page.emulateMedia({ colorScheme: "dark" });
  await page.screenshot({ path: path.join(SHOTS, "sidebar-desktop-dark.png") });
  expect(await axeProblems(page)).toEqual([]);
});

test("the first page holds 30 conversations; Show more loads the rest", async ({ page }) => {
  await signUp(page);
  const names = Array.from({ length: 33 }, (_, i) => `Paging ${String(i + 1).padStart(2, "0")}`);
  await createConversations(page, names);
  await page.reload();
  await expect(sidebar(page).locator(".conversation-item")).toHaveCount(30);
  await expect(sidebar(page).getByRole("link", { name: "Paging 33" })).toBeVisible();
  await expect(sidebar(page).getByRole("link", { name: "Paging 03" })).toHaveCount(0);
  await sidebar(page).getByRole("button", { name: "Show more" }).click();
  await expect(sidebar(page).locator(".conversation-item")).toHaveCount(33);
  expect(await titles(page)).toEqual([...names].reverse());
  await expect(sidebar(page).getByRole("button", { name: "Show more" })).toHaveCount(0);
});

test("a new chat is in the sidebar while its first answer is written, then named after the question", { tag: "@slow-app" }, async ({ page }) => {
  // The second app's random weights write until the answer budget: the first answer lasts until Stop.
  await page.goto(`http://127.0.0.1:${SLOW_PORT}/signup`);
  await page.getByLabel("Email").fill(`e2e-${randomUUID()}@example.test`);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page.getByText("sees images", { exact: true })).toBeVisible({ timeout: 60_000 });
  await expect(sidebar(page).getByText("No conversations yet.")).toBeVisible();

  await page.getByLabel("Your message").fill("Hello there");
  await page.getByLabel("Your message").press("Enter");
  await expect(page.getByRole("button", { name: "Stop" })).toBeVisible();
  // The chat view put /c/<id> in the address bar with history.replaceState; the sidebar follows it.
  await expect(page).toHaveURL(/\/c\/[a-z0-9]+$/);
  const href = new URL(page.url()).pathname;
  const item = sidebar(page).locator(`a[href="${href}"]`);
  await expect(item).toHaveText("New conversation");
  await expect(item).toHaveAttribute("aria-current", "page");
  await expect(sidebar(page).getByText("No conversations yet.")).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Stop" })).toBeVisible(); // still answering
  // Stop once the answer is being written (a Stop before the question reached a busy server sends nothing at all).
  await expect(page.getByRole("article", { name: "Assistant" }).first().locator(".markdown")).not.toBeEmpty({ timeout: 30_000 });

  await page.getByRole("button", { name: "Stop" }).click();
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  // Named after the first question once the answer is saved (no reload).
  await expect(item).not.toHaveText("New conversation");
  await expect(sidebar(page).locator(".conversation-item")).toHaveCount(1);
});

test("the model's title replaces the first question's in the sidebar without a reload", { tag: "@slow-app" }, async ({ page }) => {
  // On the random-weight pair, which always writes something a title is made of. The demo model
  // mostly declines the title request ("I only know simple shapes and colours."), and a declined
  // title is never used, so there it depends on the answer whether one comes at all.
  await signUp(page, `http://127.0.0.1:${SLOW_PORT}`);
  // A short answer budget, so the first answer ends by itself.
  await page.getByRole("button", { name: "Settings" }).click();
  const dialog = page.getByRole("dialog", { name: "Conversation settings" });
  await dialog.getByLabel("Max answer tokens").fill("40");
  await dialog.getByRole("button", { name: "Save", exact: true }).click();
  await expect(dialog).toBeHidden();
  await page.getByRole("button", { name: "Try the sample image" }).click();
  await expect(page.getByRole("list", { name: "Attached images" }).getByRole("progressbar")).toHaveCount(0);
  await page.getByLabel("Your message").fill("What shapes are in the picture?");
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page).toHaveURL(/\/c\/[a-z0-9]+$/);
  // The answer is over once Regenerate is offered (the URL changes before the answer starts).
  await expect(page.getByRole("article", { name: "Assistant" }).getByRole("button", { name: "Regenerate" })).toBeVisible({ timeout: 60_000 });
  const item = sidebar(page).locator(`a[href="${new URL(page.url()).pathname}"]`);
  // First the question (or, if the model was quicker than the refresh, already its title), then the model's title.
  await expect(item).not.toHaveText("New conversation");
  await expect(item).not.toHaveText("What shapes are in the picture?", { timeout: 15_000 });
  const named = await item.innerText();
  expect(named.length).toBeGreaterThan(0);
  expect(named.length).toBeLessThanOrEqual(60);
});
