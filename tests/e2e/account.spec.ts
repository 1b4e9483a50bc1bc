import fs from "node:fs";
import path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { signUpOnly } from "./helpers";

// Issue 24's account items (display name, password change) and the pages'
// landmarks (a level-1 heading, a skip link past the sidebar).

const SHOTS = path.resolve(import.meta.dirname, "..", "..", "test-results", "screenshots");
const PASSWORD = "correct horse battery";

async function expectAccessible(page: Page, what: string) {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`), what).toEqual([]);
}

async function signIn(page: Page, email: string, password: string) {
  await page.goto("/signin");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("account: the display name shows in the sidebar; a password change needs the current one and signs out the other sessions only", async ({ page, browser }) => {
  const email = await signUpOnly(page);
  const other = await browser.newContext();
  const elsewhere = await other.newPage();
  await signIn(elsewhere, email, PASSWORD);
  await expect(elsewhere.getByRole("heading", { name: "What would you like to know about an image?" })).toBeVisible();

  await page.getByRole("link", { name: "Account settings" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Account settings" })).toBeVisible();
  await page.getByLabel("Display name").fill("Ada Lovelace");
  await page.getByRole("button", { name: "Save name" }).click();
  const footer = page.getByRole("navigation", { name: "Conversations" }).locator(".sidebar-footer");
  await expect(footer).toContainText("Ada Lovelace");
  await expectAccessible(page, "account page");
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, `account-desktop-${scheme}.png`), fullPage: true });
  }
  await page.emulateMedia({ colorScheme: "light" });

  const form = page.getByRole("form", { name: "Change password" });
  await form.getByLabel("Current password").fill("not my password");
  await form.getByLabel("New password", { exact: true }).fill("a brand new passphrase");
  await form.getByLabel("New password, again").fill("a brand new passphrase");
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(form.getByRole("alert")).toHaveText("The current password is not right.");

  await form.getByLabel("Current password").fill(PASSWORD);
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(form.getByRole("status")).toContainText("Password changed");

  // This browser stays signed in; the other session is over.
  await page.reload();
  await expect(page.getByRole("heading", { level: 1, name: "Account settings" })).toBeVisible();
  await expect(footer).toContainText("Ada Lovelace");
  await elsewhere.goto("/");
  await expect(elsewhere).toHaveURL(/\/signin/);
  // The old password no longer works; the new one does.
  await signIn(elsewhere, email, PASSWORD);
  await expect(elsewhere.getByRole("form", { name: "Sign in" }).getByRole("alert")).toBeVisible();
  await signIn(elsewhere, email, "a brand new passphrase");
  await expect(elsewhere.getByRole("heading", { name: "What would you like to know about an image?" })).toBeVisible();
  await expect(elsewhere.getByRole("navigation", { name: "Conversations" }).locator(".sidebar-footer")).toContainText("Ada Lovelace");
  await other.close();
});

test("a conversation page has a level-1 heading, and its first tab stop is a skip link past the sidebar", async ({ page }) => {
  await signUpOnly(page);
  await page.getByTestId("file-input").setInputFiles(path.resolve(import.meta.dirname, "..", "fixtures", "red-circle.png"));
  await expect(page.getByRole("list", { name: "Attached images" }).getByRole("progressbar")).toHaveCount(0);
  await page.getByLabel("Your message").fill("What color is the circle?");
  await page.getByLabel("Your message").press("Enter");
  await expect(page.getByRole("article", { name: "Assistant" }).first()).toContainText("red", { timeout: 60_000 });
  await page.reload();
  await expect(page.getByRole("heading", { level: 1 })).toHaveCount(1);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(/What color is the circle|New conversation/);
  // It is the first stop in the tab order (the chat then puts the focus in its composer), shown when focused.
  const first = await page.evaluate(() => document.querySelector<HTMLElement>("a[href], button, input, textarea, select, [tabindex]:not([tabindex='-1'])")?.textContent);
  expect(first).toBe("Skip to the content");
  const skip = page.getByRole("link", { name: "Skip to the content" });
  await expect(skip).not.toBeInViewport();
  await skip.focus();
  await expect(skip).toBeInViewport();
  await page.keyboard.press("Enter");
  await expect(page.locator("main#content")).toBeFocused();
  await expectAccessible(page, "conversation page");
});
