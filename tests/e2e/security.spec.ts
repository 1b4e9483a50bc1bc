import fs from "node:fs";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { signUp } from "./helpers";

// The pages work under their strict Content-Security-Policy (a nonce per
// response, 'strict-dynamic', no inline scripts): signing up, chatting
// about an uploaded image, the image viewer, settings and signing out, with
// not one CSP violation reported by the page or on the console.

const RED_CIRCLE = fs.readFileSync(path.resolve(import.meta.dirname, "..", "fixtures", "red-circle.png"));

test("the pages work under the CSP without a single violation", async ({ page }) => {
  const violations: string[] = [];
  page.on("console", (message) => {
    if (/content.security.policy|refused to/i.test(message.text())) violations.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => violations.push(`pageerror: ${error.message}`));
  // Each document reports its own violations; collect them before it is unloaded.
  await page.exposeFunction("reportCspViolation", (v: string) => violations.push(`event: ${v}`));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      (window as unknown as { reportCspViolation: (v: string) => void }).reportCspViolation(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
    });
  });

  const response = await page.goto("/signin");
  expect(response?.headers()["content-security-policy"]).toMatch(/'nonce-[^']+' 'strict-dynamic'/);
  await signUp(page);

  await page.getByTestId("file-input").setInputFiles([{ name: "red-circle.png", mimeType: "image/png", buffer: RED_CIRCLE }]);
  const thumbs = page.getByRole("list", { name: "Attached images" });
  await expect(thumbs.getByRole("img")).toHaveCount(1);
  await expect(thumbs.getByRole("progressbar")).toHaveCount(0);
  await page.getByLabel("Your message").fill("What color is the circle?");
  await page.getByLabel("Your message").press("Enter");
  const answer = page.getByRole("article", { name: "Assistant" }).first();
  await expect(answer).toContainText("red");

  // The viewer sets an inline transform style when zooming.
  await page.getByRole("article", { name: "You" }).first().getByRole("button", { name: "View the image" }).click();
  const viewer = page.getByRole("dialog", { name: "Image viewer" });
  await expect(viewer.getByRole("img")).toBeVisible();
  await viewer.getByRole("button", { name: "Zoom in" }).click();
  await expect(viewer).toContainText("150%");
  await page.keyboard.press("Escape");
  await expect(viewer).toBeHidden();

  // A full page load of the conversation and of settings, then a client-side navigation back.
  await page.reload();
  await expect(answer).toContainText("red");
  await page.goto("/settings");
  await expect(page.getByRole("heading").first()).toBeVisible();
  await page.goBack();
  await expect(answer).toContainText("red");

  expect(violations).toEqual([]);
});
