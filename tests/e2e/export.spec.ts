import fs from "node:fs";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { strFromU8, unzipSync } from "fflate";
import { signUp } from "./helpers";

const RED_CIRCLE = fs.readFileSync(path.resolve(import.meta.dirname, "..", "fixtures", "red-circle.png")).toString("base64");
const SHOTS = path.resolve(import.meta.dirname, "..", "..", "test-results", "screenshots");

const assistant = (page: Page) => page.getByRole("article", { name: "Assistant" });

/** Drops the red-circle PNG onto the chat and asks about it; waits for the answer. */
async function askAboutImage(page: Page) {
  const dt = await page.evaluateHandle((b64) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], "red-circle.png", { type: "image/png" }));
    return transfer;
  }, RED_CIRCLE);
  await page.dispatchEvent("main.chat", "dragover", { dataTransfer: dt });
  await page.dispatchEvent("main.chat", "drop", { dataTransfer: dt });
  await expect(page.getByRole("list", { name: "Attached images" }).getByRole("progressbar")).toHaveCount(0);
  await page.getByLabel("Your message").fill("What color is the circle?");
  await page.getByLabel("Your message").press("Enter");
  await expect(assistant(page).last()).toContainText("red");
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
}

/** Light and dark screenshots at desktop and phone size; `prepare` runs after each resize. */
async function shoot(page: Page, name: string, prepare: () => Promise<void>) {
  for (const [size, viewport] of [
    ["desktop", { width: 1280, height: 800 }],
    ["phone", { width: 390, height: 844 }],
  ] as const) {
    await page.setViewportSize(viewport);
    await prepare();
    for (const scheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.screenshot({ path: path.join(SHOTS, `export-${name}-${size}-${scheme}.png`) });
    }
  }
  await page.emulateMedia({ colorScheme: "light" });
  await page.setViewportSize({ width: 1280, height: 800 });
}

test("export a chat with an image as JSON and Markdown, import it on the settings page, open the copy", async ({ page }) => {
  fs.mkdirSync(SHOTS, { recursive: true });
  await signUp(page);
  // A new chat has nothing to export yet.
  await expect(page.getByRole("button", { name: "Export" })).toHaveCount(0);
  await askAboutImage(page);
  await expect(page).toHaveURL(/\/c\/[a-z0-9]+$/);
  const originalUrl = page.url();

  // The menu opens from the keyboard on its first item, and Esc closes it back onto the button.
  const button = page.getByRole("button", { name: "Export" });
  await button.focus();
  await page.keyboard.press("ArrowDown");
  const menu = page.getByRole("menu", { name: "Export this conversation" });
  await expect(menu).toBeVisible();
  await expect(menu.getByRole("menuitem", { name: /Export as JSON/ })).toBeFocused();
  await page.keyboard.press("ArrowDown");
  await expect(menu.getByRole("menuitem", { name: /Export as Markdown \(zip\)/ })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(menu).toHaveCount(0);
  await expect(button).toBeFocused();
  await expect(button).toHaveAttribute("aria-expanded", "false");
  // Esc closed the menu and did not do anything else: the answer is still there.
  await expect(assistant(page).last()).toContainText("red");

  await shoot(page, "menu", async () => {
    if ((await button.getAttribute("aria-expanded")) !== "true") await button.click();
    await expect(menu).toBeVisible();
  });
  await page.keyboard.press("Escape");

  // Export as JSON: a named download with the conversation and its image.
  await button.click();
  const jsonDownload = page.waitForEvent("download");
  await menu.getByRole("menuitem", { name: /Export as JSON/ }).click();
  const json = await jsonDownload;
  // Named after the conversation's title (the first question's, or the model's once it has written one).
  expect(json.suggestedFilename()).toMatch(/^[a-z0-9-]+\.json$/);
  const stem = json.suggestedFilename().replace(/\.json$/, "");
  const jsonPath = test.info().outputPath("export.json");
  await json.saveAs(jsonPath);
  const archive = JSON.parse(fs.readFileSync(jsonPath, "utf8"));
  expect(archive).toMatchObject({ format: "local-vision-chat", version: 1 });
  expect(archive.conversations[0].messages).toHaveLength(2);
  expect(archive.images).toHaveLength(1);
  await expect(menu).toHaveCount(0);
  const answer = archive.conversations[0].messages[1].parts[0].text as string;
  expect(answer).toMatch(/\bred\b/);

  // Export as Markdown: a zip with the .md and the image.
  await button.click();
  const zipDownload = page.waitForEvent("download");
  await menu.getByRole("menuitem", { name: /Export as Markdown/ }).click();
  const zip = await zipDownload;
  expect(zip.suggestedFilename()).toBe(`${stem}.zip`);
  const files = unzipSync(new Uint8Array(fs.readFileSync(await zip.path())));
  expect(Object.keys(files).sort()).toEqual([`images/${archive.images[0].sha256}.png`, `${stem}.md`].sort());
  expect(strFromU8(files[`${stem}.md`]!)).toContain(answer);

  // Settings → Your data.
  await page.getByRole("link", { name: "Settings" }).click();
  const section = page.getByRole("region", { name: "Your data" });
  await expect(section).toBeVisible();
  await expect(section.getByRole("link", { name: "Export all (JSON)" })).toHaveAttribute("href", "/api/export?format=json");
  await expect(section.getByRole("link", { name: "Export all (Markdown zip)" })).toHaveAttribute("href", "/api/export?format=markdown");
  await shoot(page, "your-data", async () => {
    await section.scrollIntoViewIfNeeded();
  });

  // A file that is not an export: a clear error, nothing imported.
  const picker = section.getByLabel("Import conversations");
  await picker.setInputFiles({ name: "notes.json", mimeType: "application/json", buffer: Buffer.from("my shopping list") });
  await expect(section.getByRole("alert")).toHaveText(/notes\.json: The file is not JSON/);

  // The real export: imported, with a link to the copy.
  await picker.setInputFiles(jsonPath);
  await expect(section.getByRole("status")).toContainText("Imported 1 conversation with 1 image");
  await expect(section.getByRole("alert")).toHaveCount(0);
  const sidebar = page.getByRole("navigation", { name: "Conversations" });
  // The copy keeps the title (the first question's or the model's, whichever it had when exported), marked as imported.
  const title = `${archive.conversations[0].title as string} (imported)`;
  await expect(sidebar.getByRole("link", { name: archive.conversations[0].title as string, exact: true })).toHaveCount(1);
  await expect(sidebar.getByRole("link", { name: title, exact: true })).toHaveCount(1);
  await section.scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(SHOTS, "export-your-data-imported-desktop-light.png") });
  await section.getByRole("link", { name: title, exact: true }).click();

  // The copy: a new conversation showing the image (loaded) and the answer.
  await expect(page).toHaveURL(/\/c\/[a-z0-9]+$/);
  expect(page.url()).not.toBe(originalUrl);
  const image = page.getByRole("article", { name: "You" }).getByRole("img");
  await expect(image).toBeVisible();
  await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
  await expect(assistant(page).last()).toContainText(answer);
});
