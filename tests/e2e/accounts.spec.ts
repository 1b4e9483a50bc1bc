import { randomUUID } from "node:crypto";
import { expect, test } from "@playwright/test";

test("a visitor signs up, lands in the app, signs out and signs back in", async ({ page }) => {
  const email = `e2e-${randomUUID()}@example.test`;
  await page.goto("/");
  await expect(page).toHaveURL(/\/signin$/);

  await page.getByRole("link", { name: "Create an account" }).click();
  await page.getByLabel("Name (optional)").fill("Grace");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page.getByRole("heading", { name: "What would you like to know about an image?" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Conversations" }).getByText("Grace")).toBeVisible();

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/signin/);

  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("wrong password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("form", { name: "Sign in" }).getByRole("alert")).toHaveText("Wrong email or password.");

  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("navigation", { name: "Conversations" }).getByText("Grace")).toBeVisible();
});

test("signing up twice with one email shows a clear message", async ({ page }) => {
  const email = `e2e-${randomUUID()}@example.test`;
  for (let i = 0; i < 2; i++) {
    await page.context().clearCookies();
    await page.goto("/signup");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByRole("button", { name: "Sign up" }).click();
    if (i === 0) await expect(page.getByRole("heading", { name: "What would you like to know about an image?" })).toBeVisible();
  }
  await expect(page.getByRole("form", { name: "Sign up" }).getByRole("alert")).toHaveText(
    "An account with this email already exists.",
  );
});

test("Sign out everywhere in Settings ends this session and the one in another browser", async ({ page, browser }) => {
  const email = `e2e-${randomUUID()}@example.test`;
  await page.goto("/signup");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page.getByRole("heading", { name: "What would you like to know about an image?" })).toBeVisible();

  const elsewhere = await browser.newContext();
  const other = await elsewhere.newPage();
  await other.goto("/signin");
  await other.getByLabel("Email").fill(email);
  await other.getByLabel("Password").fill("correct horse battery");
  await other.getByRole("button", { name: "Sign in" }).click();
  await expect(other.getByRole("heading", { name: "What would you like to know about an image?" })).toBeVisible();

  await page.goto("/settings");
  await page.getByRole("button", { name: "Sign out everywhere" }).click();
  await expect(page).toHaveURL(/\/signin/);
  await other.goto("/");
  await expect(other).toHaveURL(/\/signin/);
  await elsewhere.close();
});
