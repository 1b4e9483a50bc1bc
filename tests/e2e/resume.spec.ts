import fs from "node:fs";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { SLOW_PORT } from "../../playwright.config";
import { signUp } from "./helpers";

// Issue 24: answers that carry on when the page goes away and stream again
// on return (two tabs and a reload on the random-weight app, which writes
// until its 30 000-token budget), Continue on an answer cut at its length
// limit, and deleting a single message with its branch (on the demo model).

const SLOW = `http://127.0.0.1:${SLOW_PORT}`;
const SHOTS = path.resolve(import.meta.dirname, "..", "..", "test-results", "screens-24");

const assistant = (page: Page) => page.getByRole("article", { name: "Assistant" });
const you = (page: Page) => page.getByRole("article", { name: "You" });
const box = (page: Page) => page.getByLabel("Your message");
const bodyText = async (page: Page) => (await assistant(page).first().locator(".message-body").textContent()) ?? "";

async function ask(page: Page, question: string) {
  await box(page).fill(question);
  await box(page).press("Enter");
}

/** Sends "Describe the image." with the sample image, once the image is uploaded. */
async function sendSampleQuestion(page: Page) {
  await page.getByRole("button", { name: "Try the sample image" }).click();
  await expect(box(page)).toHaveValue("Describe the image.");
  await expect(page.getByRole("list", { name: "Attached images" }).getByRole("progressbar")).toHaveCount(0);
  await page.getByRole("button", { name: "Send" }).click();
  await expect(you(page)).toHaveCount(1);
}

/** Sets this (new) chat's answer budget in its settings. */
async function maxAnswerTokens(page: Page, tokens: number) {
  await page.getByRole("button", { name: "Chat settings" }).click();
  const dialog = page.getByRole("dialog", { name: "Conversation settings" });
  await dialog.getByLabel("Max answer tokens").fill(String(tokens));
  await dialog.getByRole("button", { name: "Save", exact: true }).click();
  await expect(dialog).toBeHidden();
}

test("two tabs and a reload show the same growing answer; Stop in one tab stops both; the saved answer is what they showed", { tag: "@slow-app" }, async ({ page, context }) => {
  // Three page loads of a growing answer: minutes on a busy two-core machine.
  test.setTimeout(480_000);
  await signUp(page, SLOW);
  await ask(page, "Hello");
  await expect(page.getByRole("button", { name: "Stop" })).toBeVisible();
  await expect.poll(async () => (await bodyText(page)).length, { timeout: 90_000 }).toBeGreaterThan(20);
  const url = page.url();
  expect(url).toMatch(/\/c\/[a-z0-9]+$/);

  // A second tab on the same conversation joins the answer and sees it grow.
  const second = await context.newPage();
  await second.goto(url);
  await expect(second.getByRole("button", { name: "Stop" })).toBeVisible();
  const early = (await bodyText(second)).length;
  // (On a busy two-core machine the random pair may write only a few characters a second.)
  await expect.poll(async () => (await bodyText(second)).length, { timeout: 90_000 }).toBeGreaterThan(early);

  // The first tab reloads mid-answer: the answer was not stopped, and it grows there again.
  await page.reload();
  await expect(page.getByRole("button", { name: "Stop" })).toBeVisible();
  const afterReload = (await bodyText(page)).length;
  await expect.poll(async () => (await bodyText(page)).length, { timeout: 90_000 }).toBeGreaterThan(afterReload);
  expect(await bodyText(page)).not.toBe("");
  await expect(assistant(page).first().locator("p.muted", { hasText: /^Stopped/ })).toHaveCount(0);
  // Both show the same text: one is where the other was a moment ago.
  const [a, b] = [await bodyText(page), await bodyText(second)];
  expect(a.startsWith(b.slice(0, 200)) && b.startsWith(a.slice(0, 200))).toBe(true);
  // Nothing was generated twice: one question, one answer, in both.
  for (const p of [page, second]) {
    await expect(you(p)).toHaveCount(1);
    await expect(assistant(p)).toHaveCount(1);
  }

  // Stop in the second tab stops it in both.
  await second.getByRole("button", { name: "Stop" }).click();
  for (const p of [second, page]) {
    await expect(p.getByRole("button", { name: "Stop" })).toHaveCount(0, { timeout: 15_000 });
    await expect(assistant(p).first()).toContainText("Stopped", { timeout: 15_000 });
  }
  await expect.poll(async () => (await bodyText(page)) === (await bodyText(second)), { timeout: 10_000 }).toBe(true);
  const shown = await bodyText(page);
  expect(shown.length).toBeGreaterThan(40);
  // The saved answer is what both showed, and it stopped long before its budget.
  await page.reload();
  await expect(assistant(page).first()).toContainText("Stopped");
  expect(await bodyText(page)).toBe(shown);
  const id = url.split("/").at(-1)!;
  const saved = (await (await page.request.get(`${SLOW}/api/conversations/${id}`)).json()) as { conversation: { messages: { role: string; status: string; completionTokens: number | null }[] } };
  expect(saved.conversation.messages.map((m) => [m.role, m.status])).toEqual([
    ["user", "complete"],
    ["assistant", "stopped"],
  ]);
});

test("an answer whose tab was closed is finished and saved; opening the conversation again shows it whole", { tag: "@slow-app" }, async ({ page, context }) => {
  test.setTimeout(300_000);
  await signUp(page, SLOW);
  await maxAnswerTokens(page, 300);
  await ask(page, "Hello");
  await expect.poll(async () => (await bodyText(page)).length, { timeout: 30_000 }).toBeGreaterThan(20);
  const url = page.url();
  await page.close();
  const again = await context.newPage();
  await again.goto(url);
  // Joined mid-way or already done: either way it ends complete, at its length limit.
  await expect(assistant(again).first()).toContainText("Cut off: the answer reached its length limit", { timeout: 240_000 });
  await expect(assistant(again).first().locator("p.muted", { hasText: /^Stopped/ })).toHaveCount(0);
});

for (const theme of ["light", "dark"] as const) {
  test(`Continue on an answer cut at its length limit extends the same message (demo model, ${theme})`, async ({ page }) => {
    // Several answers on a busy two-core machine.
    test.setTimeout(300_000);
    await page.emulateMedia({ colorScheme: theme });
    await signUp(page);
    await maxAnswerTokens(page, 5);
    await sendSampleQuestion(page);
    const answer = assistant(page).first();
    await expect(answer).toContainText("Cut off: the answer reached its length limit", { timeout: 60_000 });
    const cut = await bodyText(page);
    expect(cut.length).toBeGreaterThan(0);
    const before = await answer.evaluate((el) => el.parentElement?.children.length);

    await answer.getByRole("button", { name: "Continue" }).click();
    await expect.poll(async () => (await bodyText(page)).length, { timeout: 60_000 }).toBeGreaterThan(cut.length);
    await expect(page.getByRole("button", { name: "Stop" })).toHaveCount(0, { timeout: 60_000 });
    const continued = await bodyText(page);
    expect(continued.startsWith(cut.trimEnd())).toBe(true);
    // The same message grew: still one answer, no new version.
    await expect(assistant(page)).toHaveCount(1);
    await expect(answer.getByRole("group", { name: "Answer versions" })).toHaveCount(0);
    expect(await answer.evaluate((el) => el.parentElement?.children.length)).toBe(before);
    // Still cut (5 more tokens): the grown answer, Continue again, and what the prompt cost (nearly all cached).
    await expect(answer.getByRole("button", { name: "Continue" })).toBeVisible();
    await answer.getByLabel("Answer details").click();
    await expect(answer.getByText(/prompt \d+ \(\d+ cached\)/)).toBeVisible();
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, `continue-desktop-${theme}.png`) });
    // The same on a phone.
    const desktop = page.viewportSize();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: path.join(SHOTS, `continue-phone-${theme}.png`) });
    if (desktop) await page.setViewportSize(desktop);
    // Continued until the model ends the answer on its own.
    for (let i = 0; i < 10 && (await answer.getByRole("button", { name: "Continue" }).count()); i++) {
      const now = await bodyText(page);
      await answer.getByRole("button", { name: "Continue" }).click();
      await expect.poll(async () => (await bodyText(page)).length, { timeout: 60_000 }).toBeGreaterThan(now.length);
      await expect(page.getByRole("button", { name: "Stop" })).toHaveCount(0, { timeout: 60_000 });
    }
    const whole = await bodyText(page);
    expect(whole.startsWith(cut.trimEnd())).toBe(true);
    // What was shown is what was saved.
    await page.reload();
    await expect(assistant(page).first().locator(".message-body")).toHaveText(whole);
  });
}

test("delete a single message: it goes with its branch after a confirmation; the branch shows its other version", async ({ page }) => {
  await signUp(page);
  await sendSampleQuestion(page);
  const first = assistant(page).first();
  await expect(first.getByRole("button", { name: "Regenerate" })).toBeVisible({ timeout: 60_000 });
  const firstText = await bodyText(page);
  // A second version of the answer, then a follow-up under it.
  await first.getByRole("button", { name: "Regenerate" }).click();
  await expect(first.getByRole("group", { name: "Answer versions" })).toContainText("2/2");
  await expect(first.getByRole("button", { name: "Regenerate" })).toBeVisible({ timeout: 60_000 });
  await ask(page, "What color is the circle?");
  await expect(assistant(page)).toHaveCount(2);
  await expect(assistant(page).nth(1).getByRole("button", { name: "Regenerate" })).toBeVisible({ timeout: 60_000 });

  // Cancel keeps everything.
  await assistant(page).first().getByRole("button", { name: "Delete this answer" }).click();
  const dialog = page.getByRole("dialog", { name: "Delete this answer?" });
  await expect(dialog).toBeVisible();
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();
  await expect(assistant(page)).toHaveCount(2);

  // Delete: the second version and the follow-up below it go; the first version is shown.
  await assistant(page).first().getByRole("button", { name: "Delete this answer" }).click();
  await dialog.getByRole("button", { name: "Delete" }).click();
  await expect(dialog).toBeHidden();
  await expect(you(page)).toHaveCount(1);
  await expect(assistant(page)).toHaveCount(1);
  await expect(assistant(page).first().getByRole("group", { name: "Answer versions" })).toHaveCount(0);
  await expect(assistant(page).first().locator(".message-body")).toHaveText(firstText);
  // And so after a reload.
  await page.reload();
  await expect(you(page)).toHaveCount(1);
  await expect(assistant(page)).toHaveCount(1);
  await expect(assistant(page).first().locator(".message-body")).toHaveText(firstText);

  // Deleting the question leaves an empty conversation.
  await you(page).first().getByRole("button", { name: "Delete this question" }).click();
  await page.getByRole("dialog", { name: "Delete this question?" }).getByRole("button", { name: "Delete" }).click();
  await expect(you(page)).toHaveCount(0);
  await expect(assistant(page)).toHaveCount(0);
});
