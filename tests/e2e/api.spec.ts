import fs from "node:fs";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { signUp } from "./helpers";

const RED_CIRCLE = fs.readFileSync(path.resolve(import.meta.dirname, "..", "fixtures", "red-circle.png")).toString("base64");
const SHOTS = path.resolve(import.meta.dirname, "..", "..", "test-results", "screenshots");

test("create an API key in Settings, use it with store: true, find the exchange in the sidebar, revoke the key", async ({ page, baseURL }) => {
  await signUp(page);
  await page.getByRole("link", { name: "Settings" }).click();
  await expect(page.getByRole("heading", { name: "API keys" })).toBeVisible();
  await expect(page.getByText("No keys yet.")).toBeVisible();
  await page.getByLabel("Name", { exact: true }).fill("e2e script");
  await page.getByRole("button", { name: "Create key" }).click();
  const secret = (await page.getByTestId("new-api-key").textContent())!;
  expect(secret).toMatch(/^lvc-/);
  await expect(page.getByRole("cell", { name: "e2e script", exact: true })).toBeVisible();
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, "settings-api-keys.png") });
  // The secret is shown once: after a reload only its prefix is on the page.
  await page.reload();
  await expect(page.getByRole("cell", { name: "e2e script", exact: true })).toBeVisible();
  await expect(page.getByText(secret)).toHaveCount(0);

  const api = (body: unknown) =>
    fetch(`${baseURL}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  const model = ((await (await fetch(`${baseURL}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).json()) as { data: { id: string }[] }).data[0]!.id;
  const res = await api({
    model,
    temperature: 0,
    store: true,
    messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: `data:image/png;base64,${RED_CIRCLE}` } }, { type: "text", text: "What color is the circle?" }] }],
  });
  expect(res.status).toBe(200);
  const answer = ((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;

  await page.goto("/");
  const entry = page.getByRole("link", { name: "What color is the circle?" });
  await expect(entry).toBeVisible();
  await entry.click();
  await expect(page.getByRole("article", { name: "Assistant" })).toContainText(answer.trim());
  await expect(page.locator("article img").first()).toBeVisible();

  await page.getByRole("link", { name: "Settings" }).click();
  // The key's usage today: prompt and completion tokens, the one image, the one request.
  const today = page.getByRole("table", { name: /Usage of e2e script/ }).getByRole("row", { name: /^Today/ });
  await expect(today.getByRole("cell")).toHaveText([/^[1-9][\d,]*$/, /^[1-9][\d,]*$/, "1", "1"]);
  page.once("dialog", (d) => void d.accept());
  await page.getByRole("button", { name: "Revoke e2e script" }).click();
  await expect(page.getByText("No keys yet.")).toBeVisible();
  expect((await api({ model, messages: [{ role: "user", content: "hi" }] })).status).toBe(401);
});
