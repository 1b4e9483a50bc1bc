import fs from "node:fs";
import path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Locator, type Page } from "@playwright/test";
import { signUpOnly } from "./helpers";

// Issue 24's organising part: folders in the sidebar (create, rename, drag a
// chat in, "Move to folder…" from the keyboard, collapse, delete), pins,
// the archive (its page, Unarchive, still opened and searched), and the
// per-user theme switch. Screenshots for the closing note go to
// test-results/screens-24 (desktop and phone, light and dark).

const SHOTS = process.env.SCREENS_24_DIR ?? path.resolve(import.meta.dirname, "..", "..", "test-results", "screens-24");
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

async function expectAccessible(page: Page, what: string) {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`), what).toEqual([]);
}

/** Starts empty conversations through the API (the sidebar lists them after a reload). */
async function createChats(page: Page, titles: string[]): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const title of titles) {
    const res = await page.request.post("/api/conversations", { data: { title } });
    expect(res.status()).toBe(201);
    ids[title] = (await res.json()).conversation.id;
  }
  return ids;
}

const sidebar = (page: Page) => page.getByRole("navigation", { name: "Conversations" });
const folderRow = (nav: Locator, name: string) => nav.locator("li.folder").filter({ has: nav.page().getByRole("button", { name: new RegExp(`^${name}\\b`) }) });
const folderChats = (nav: Locator, name: string) => nav.getByRole("list", { name, exact: true });

/** Screenshots of the page as it is now: desktop and phone, light and dark (the system theme). */
async function shoot(page: Page, name: string, { openSidebar = false }: { openSidebar?: boolean } = {}) {
  fs.mkdirSync(SHOTS, { recursive: true });
  for (const [device, size] of [
    ["desktop", DESKTOP],
    ["phone", PHONE],
  ] as const) {
    await page.setViewportSize(size);
    const toggle = page.getByRole("button", { name: "Conversations" });
    if (device === "phone" && openSidebar && (await toggle.getAttribute("aria-expanded")) !== "true") await toggle.click();
    for (const scheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.waitForTimeout(250);
      await page.screenshot({ path: path.join(SHOTS, `${name}-${device}-${scheme}.png`) });
    }
    if (device === "phone" && openSidebar) await toggle.click();
  }
  await page.setViewportSize(DESKTOP);
  await page.emulateMedia({ colorScheme: "light" });
}

test.use({ viewport: DESKTOP });

test("folders: create, rename, move a chat in by drag and by the keyboard, collapse (remembered), delete keeping the chats", async ({ page }) => {
  await signUpOnly(page);
  await createChats(page, ["Beach photo", "Receipt scan", "Cat picture"]);
  await page.reload();
  const nav = sidebar(page);
  await expect(nav.getByRole("link", { name: "Beach photo" })).toBeVisible();

  // Create.
  await nav.getByRole("button", { name: "+ New folder" }).click();
  await nav.getByLabel("New folder name").fill("Trips");
  await nav.getByLabel("New folder name").press("Enter");
  await expect(nav.getByRole("button", { name: /^Trips/ })).toBeVisible();
  await expect(folderRow(nav, "Trips")).toContainText("Empty");

  // Rename.
  await nav.getByRole("button", { name: "Actions for folder Trips" }).click();
  await nav.getByRole("button", { name: "Rename folder Trips" }).click();
  await nav.getByLabel("Folder name").fill("Holidays");
  await nav.getByLabel("Folder name").press("Enter");
  await expect(nav.getByRole("button", { name: /^Holidays/ })).toBeVisible();
  await expect(nav.getByRole("button", { name: /^Trips/ })).toHaveCount(0);

  // Drag a chat onto the folder.
  await nav.getByRole("link", { name: "Beach photo" }).dragTo(folderRow(nav, "Holidays").locator(".folder-header"));
  await expect(folderChats(nav, "Holidays").getByRole("link", { name: "Beach photo" })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Beach photo" })).toHaveCount(1);

  // The same by keyboard only: the row's ⋯ menu, "Move to folder…", the folder.
  await nav.getByRole("button", { name: "Actions for Receipt scan" }).press("Enter");
  await nav.getByRole("button", { name: "Move to folder… for Receipt scan" }).press("Enter");
  const choices = nav.getByRole("group", { name: "Move Receipt scan to" });
  await expect(choices.getByRole("button", { name: "Holidays" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(folderChats(nav, "Holidays").getByRole("link", { name: "Receipt scan" })).toBeVisible();
  // Focus is back on the row's ⋯ button, now inside the folder.
  await expect(folderChats(nav, "Holidays").getByRole("button", { name: "Actions for Receipt scan" })).toBeFocused();
  await expect(nav.getByRole("button", { name: /^Holidays\W+2 chats/ })).toBeVisible();

  // Both stay filed after a reload.
  await page.reload();
  await expect(folderChats(nav, "Holidays").getByRole("link")).toHaveText(["Receipt scan", "Beach photo"]);

  // Dragged back out onto the dated list: the top level again.
  await folderChats(nav, "Holidays").getByRole("link", { name: "Beach photo" }).dragTo(nav.getByRole("link", { name: "Cat picture" }));
  await expect(folderChats(nav, "Holidays").getByRole("link")).toHaveText(["Receipt scan"]);
  await expect(nav.getByRole("link", { name: "Beach photo" })).toBeVisible();

  // Collapse: remembered across a reload. A refresh of the folders asked for just before the click
  // (here held back until after it) must not undo it when its older answer arrives.
  const toggle = nav.getByRole("button", { name: /^Holidays/ });
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let answered!: () => void;
  const stale = new Promise<void>((r) => (answered = r));
  await page.route("**/api/folders", async (route) => {
    if (route.request().method() !== "GET") return route.continue();
    const res = await route.fetch();
    await held;
    await route.fulfill({ response: res });
    answered();
  });
  await page.evaluate(() => window.dispatchEvent(new Event("lvc:conversations-changed")));
  await toggle.click();
  await expect(toggle).toHaveAttribute("aria-expanded", "false");
  release();
  await stale;
  await page.unroute("**/api/folders");
  await expect(toggle).toHaveAttribute("aria-expanded", "false");
  await expect(nav.getByRole("link", { name: "Receipt scan" })).toBeHidden();
  await page.reload();
  await expect(toggle).toHaveAttribute("aria-expanded", "false");
  await expect(nav.getByRole("link", { name: "Receipt scan" })).toBeHidden();
  await toggle.click();
  await expect(nav.getByRole("link", { name: "Receipt scan" })).toBeVisible();
  await page.reload();
  await expect(toggle).toHaveAttribute("aria-expanded", "true");

  // Delete the folder: its chat is back at the top level, not deleted.
  await nav.getByRole("button", { name: "Actions for folder Holidays" }).click();
  await nav.getByRole("button", { name: "Delete folder Holidays" }).click();
  await nav.getByRole("button", { name: "Yes, delete folder" }).click();
  await expect(nav.getByRole("button", { name: /^Holidays/ })).toHaveCount(0);
  await expect(nav.getByRole("link", { name: "Receipt scan" })).toBeVisible();
  await page.reload();
  await expect(nav.getByRole("link")).toContainText(["Cat picture", "Receipt scan", "Beach photo"]);
});

test("pins above the dates, and the archive: archived chats leave the sidebar, are listed under Archived, still open and are still found; Unarchive puts them back", async ({ page }) => {
  await signUpOnly(page);
  const ids = await createChats(page, ["Alpha notes", "Bravo receipts", "Charlie sketch", "Delta photos"]);
  // A folder with a chat in it, for the screenshots.
  const folder = (await (await page.request.post("/api/folders", { data: { name: "Work" } })).json()).folder as { id: string };
  expect((await page.request.patch(`/api/conversations/${ids["Bravo receipts"]}`, { data: { folderId: folder.id } })).status()).toBe(200);
  await page.reload();
  const nav = sidebar(page);

  // Pin: a Pinned section above the dates.
  await nav.getByRole("button", { name: "Actions for Alpha notes" }).click();
  await nav.getByRole("button", { name: "Pin Alpha notes" }).click();
  const pinned = nav.getByRole("list", { name: "Pinned" });
  await expect(pinned.getByRole("link")).toHaveCount(1);
  await expect(pinned.getByRole("link", { name: "Alpha notes" })).toBeVisible();
  // The menu had the focus: it follows the row into the Pinned list.
  await expect(pinned.getByRole("button", { name: "Actions for Alpha notes" })).toBeFocused();
  await page.reload();
  await expect(pinned.getByRole("link")).toHaveCount(1);
  // The pinned list comes before the folders and the dates.
  const headings = await nav.locator(".conversation-group-heading").allTextContents();
  expect(headings.slice(0, 3)).toEqual(["Pinned", "Folders", "Today"]);

  await expectAccessible(page, "sidebar with folders and pins");
  await shoot(page, "sidebar-folders-pins", { openSidebar: true });
  // The same with a row's menu and a folder's menu open.
  await nav.getByRole("button", { name: "Actions for folder Work" }).click();
  await nav.getByRole("button", { name: "Actions for Delta photos" }).click();
  await expectAccessible(page, "sidebar with menus open");
  await page.keyboard.press("Escape");

  // Archive: out of the sidebar.
  await nav.getByRole("button", { name: "Actions for Charlie sketch" }).click();
  await nav.getByRole("button", { name: "Archive Charlie sketch" }).click();
  await expect(nav.getByRole("link", { name: "Charlie sketch" })).toHaveCount(0);
  await page.reload();
  await expect(nav.getByRole("link", { name: "Delta photos" })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Charlie sketch" })).toHaveCount(0);

  // Search still finds it, marked as archived.
  await nav.getByLabel("Search conversations").fill("charlie");
  await expect(nav.getByRole("link", { name: /Charlie sketch/ })).toContainText("Archived");
  await nav.getByLabel("Search conversations").fill("");

  // The Archived page lists it; its link still opens it.
  await nav.getByRole("link", { name: "Archived", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Archived chats" })).toBeVisible();
  const archive = page.getByRole("list", { name: "Archived chats" });
  await expect(archive.getByRole("link")).toHaveText(["Charlie sketch"]);
  await expectAccessible(page, "archive page");
  await shoot(page, "archive");
  await archive.getByRole("link", { name: "Charlie sketch" }).click();
  await expect(page).toHaveURL(new RegExp(`/c/${ids["Charlie sketch"]}$`));
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  await expect(page.getByText("Conversation not found")).toHaveCount(0);

  // Unarchive: back in the sidebar, gone from the archive.
  await page.goto("/archived");
  await page.getByRole("button", { name: "Unarchive Charlie sketch" }).click();
  await expect(page.getByRole("main").getByRole("status")).toContainText("back in the sidebar");
  await expect(nav.getByRole("link", { name: "Charlie sketch" })).toBeVisible();
  await expect(page.getByText("No archived chats.")).toBeVisible();
  await page.reload();
  await expect(page.getByText("No archived chats.")).toBeVisible();

  // Unpin: the Pinned section goes away.
  await nav.getByRole("button", { name: "Actions for Alpha notes" }).click();
  await nav.getByRole("button", { name: "Unpin Alpha notes" }).click();
  await expect(nav.getByRole("list", { name: "Pinned" })).toHaveCount(0);
  await expect(nav.getByRole("link", { name: "Alpha notes" })).toBeVisible();
});

test("theme switch: system, light or dark, saved per user, on the first paint after a reload", async ({ page, browser }) => {
  await signUpOnly(page);
  await page.getByRole("link", { name: "Account settings" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Account settings" })).toBeVisible();
  const themes = page.getByRole("group", { name: "Theme" });
  await expect(themes.getByRole("radio", { name: "System" })).toBeChecked();
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const html = page.locator("html");

  // System follows the browser.
  await page.emulateMedia({ colorScheme: "dark" });
  expect(await background()).toBe("rgb(21, 21, 26)");
  await page.emulateMedia({ colorScheme: "light" });
  expect(await background()).toBe("rgb(255, 255, 255)");

  // Dark wins over a light browser, and is kept across a reload.
  await themes.getByRole("radio", { name: "Dark" }).check();
  await expect(themes.getByRole("status")).toHaveText("Theme saved: dark.");
  await expect(html).toHaveAttribute("data-theme", "dark");
  expect(await background()).toBe("rgb(21, 21, 26)");
  await page.reload();
  await expect(html).toHaveAttribute("data-theme", "dark");
  await expect(themes.getByRole("radio", { name: "Dark" })).toBeChecked();
  expect(await background()).toBe("rgb(21, 21, 26)");
  await expectAccessible(page, "account page, dark theme");
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, "account-desktop-dark-chosen-under-light-browser.png") });

  // On the first paint: the server's HTML has it, and a page without JavaScript is dark already.
  expect(/<html[^>]*>/.exec(await (await page.request.get("/settings")).text())?.[0]).toContain('data-theme="dark"');
  const noScript = await browser.newContext({ javaScriptEnabled: false, storageState: await page.context().storageState(), colorScheme: "light" });
  const first = await noScript.newPage();
  await first.goto(page.url().replace(/\/settings$/, "/"));
  expect(await first.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe("rgb(21, 21, 26)");
  await noScript.close();

  // Light wins over a dark browser.
  await page.emulateMedia({ colorScheme: "dark" });
  await themes.getByRole("radio", { name: "Light" }).check();
  await expect(themes.getByRole("status")).toHaveText("Theme saved: light.");
  await expect(html).toHaveAttribute("data-theme", "light");
  expect(await background()).toBe("rgb(255, 255, 255)");
  await page.reload();
  await expect(themes.getByRole("radio", { name: "Light" })).toBeChecked();
  expect(await background()).toBe("rgb(255, 255, 255)");
  await expectAccessible(page, "account page, light theme under a dark browser");

  // Back to system: the browser decides again; the switch keyboard-operable (arrow keys move between radios).
  await themes.getByRole("radio", { name: "Light" }).focus();
  await page.keyboard.press("ArrowLeft");
  await expect(themes.getByRole("radio", { name: "System" })).toBeChecked();
  await expect(themes.getByRole("status")).toHaveText("Theme saved: system.");
  await expect(html).not.toHaveAttribute("data-theme", /./);
  expect(await background()).toBe("rgb(21, 21, 26)");
  await page.reload();
  await expect(themes.getByRole("radio", { name: "System" })).toBeChecked();
  await page.emulateMedia({ colorScheme: "light" });
  await expectAccessible(page, "account page with the theme switch");
  await shoot(page, "account");
});
