import { randomUUID } from "node:crypto";
import { expect, type Page } from "@playwright/test";

/** Signs a fresh account up (on another app when `base` is given) without waiting for the model; returns its email. */
export async function signUpOnly(page: Page, base = ""): Promise<string> {
  const email = `e2e-${randomUUID()}@example.test`;
  await page.goto(`${base}/signup`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page.getByRole("heading", { name: "What would you like to know about an image?" })).toBeVisible();
  return email;
}

/** Signs a fresh account up and waits until the model is ready; returns its email. */
export async function signUp(page: Page, base = ""): Promise<string> {
  const email = await signUpOnly(page, base);
  await expect(page.getByText("sees images", { exact: true })).toBeVisible({ timeout: 60_000 });
  // The badge says where the model runs: llama-server once `npm run engine:build` has run (npm test does), else in-process.
  await expect(page.getByTestId("engine-badge")).toHaveText(/^(llama-server|in-process) · CPU$/);
  // The model family, from the mmproj (both apps run LLaVA-1.5 layouts: the demo model and the random pair).
  await expect(page.getByTestId("family-badge")).toHaveText("LLaVA-1.5");
  return email;
}
