import fs from "node:fs";
import path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { NOLOAD_PORT, SLOW_PORT } from "../../playwright.config";
import { signUp, signUpOnly } from "./helpers";

// The chat's defects that lost or sent words, and what part 2 added:
// branches, settings, the lightbox, states and polish. Each test fails on
// the code before the fix it is named after.

const RED_CIRCLE_PATH = path.resolve(import.meta.dirname, "..", "fixtures", "red-circle.png");
const RED_CIRCLE = fs.readFileSync(RED_CIRCLE_PATH);
const SHOTS = path.resolve(import.meta.dirname, "..", "..", "test-results", "screenshots");
const SLOW = `http://127.0.0.1:${SLOW_PORT}`;

const you = (page: Page) => page.getByRole("article", { name: "You" });
const assistant = (page: Page) => page.getByRole("article", { name: "Assistant" });
const box = (page: Page) => page.getByLabel("Your message");
const stopButton = (page: Page) => page.getByRole("button", { name: "Stop" });
const image = (name = "red-circle.png") => ({ name, mimeType: "image/png", buffer: RED_CIRCLE });

async function shot(page: Page, name: string) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

/** Screens in the four looks: desktop and phone, light and dark. */
async function shots(page: Page, name: string) {
  const size = page.viewportSize()!;
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await shot(page, `${name}-desktop-${scheme}`);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(400); // the sidebar slides away
    await shot(page, `${name}-phone-${scheme}`);
    await page.setViewportSize(size);
    await page.waitForTimeout(400);
  }
  await page.emulateMedia({ colorScheme: "light" });
}

/** Fails on any serious or critical axe-core finding. */
async function expectAccessible(page: Page, what: string) {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`), what).toEqual([]);
}

test("Stop with a draft in the box keeps the draft, sends nothing, and says Stopped at once", { tag: "@slow-app" }, async ({ page }) => {
  await signUp(page, SLOW);
  await box(page).fill("Hello");
  await box(page).press("Enter");
  await expect(assistant(page).first().locator(".markdown")).not.toBeEmpty();
  // Write the next question while the answer streams, then click Stop.
  await box(page).fill("my next question");
  await stopButton(page).click();
  await expect(stopButton(page)).toHaveCount(0);
  await expect(box(page)).toHaveValue("my next question");
  await expect(assistant(page).first()).toContainText("Stopped");
  await page.waitForTimeout(1500);
  await expect(you(page)).toHaveCount(1);
  await expect(assistant(page)).toHaveCount(1);
  await page.reload();
  await expect(you(page)).toHaveCount(1);
});

test("a new chat keeps what is typed and attached during its first answer; the settings reach the answer", { tag: "@slow-app" }, async ({ page }) => {
  await signUp(page, SLOW);
  // A short answer budget for this chat, set before its first message.
  await page.getByRole("button", { name: "Settings" }).click();
  const dialog = page.getByRole("dialog", { name: "Conversation settings" });
  await dialog.getByLabel("Max answer tokens").fill("400");
  await dialog.getByLabel("System prompt").fill("Answer in one short sentence.");
  await shots(page, "settings");
  await dialog.getByRole("button", { name: "Save", exact: true }).click();
  await expect(dialog).toBeHidden();

  await box(page).fill("Hello");
  await box(page).press("Enter");
  await expect(stopButton(page)).toBeVisible();
  await box(page).fill("the second question");
  await page.getByTestId("file-input").setInputFiles([image()]);
  await expect(page.getByRole("list", { name: "Attached images" }).getByRole("img")).toHaveCount(1);
  // The first answer ends by itself at its 400-token budget.
  await expect(stopButton(page)).toHaveCount(0, { timeout: 60_000 });
  await expect(assistant(page).first()).toContainText("Cut off: the answer reached its length limit (400 tokens)");
  await expect(box(page)).toHaveValue("the second question");
  await expect(page.getByRole("list", { name: "Attached images" }).getByRole("img")).toHaveCount(1);
  await expect(page.getByText("Checking the model…")).toHaveCount(0);
  await expect(page).toHaveURL(/\/c\/[a-z0-9]+$/);
  await expect(you(page)).toHaveCount(1);
  // The draft survives a reload too.
  await page.reload();
  await expect(box(page)).toHaveValue("the second question");
  await expect(page.getByRole("list", { name: "Attached images" }).getByRole("img")).toHaveCount(1);
  // The settings were saved with the conversation.
  await page.getByRole("button", { name: "Settings" }).click();
  await expect(page.getByRole("dialog", { name: "Conversation settings" }).getByLabel("Max answer tokens")).toHaveValue("400");
  await expect(page.getByRole("dialog", { name: "Conversation settings" }).getByLabel("System prompt")).toHaveValue("Answer in one short sentence.");
});

test("offline: Send keeps the draft, says so plainly, stays on the page and sends when the server is back", async ({ page, context }) => {
  await signUp(page);
  const url = page.url();
  await context.setOffline(true);
  await box(page).fill("How many shapes are there?");
  await box(page).press("Enter");
  await expect(page.getByRole("alert").filter({ hasText: "Can’t reach the server" })).toBeVisible();
  expect(page.url()).toBe(url);
  await expect(box(page)).toHaveValue("How many shapes are there?");
  await expect(you(page)).toHaveCount(0);
  await context.setOffline(false);
  await expect(assistant(page).first()).toContainText("shape", { timeout: 30_000 });
  await expect(page.getByText("Can’t reach the server")).toHaveCount(0);
  await expect(box(page)).toHaveValue("");
  await expect(you(page)).toHaveCount(1);
});

test("offline mid-conversation: the question comes back into the box instead of being lost", async ({ page, context }) => {
  await signUp(page);
  await box(page).fill("How many shapes are there?");
  await box(page).press("Enter");
  await expect(assistant(page).first()).toContainText("shape");
  await context.setOffline(true);
  await box(page).fill("What color is the circle?");
  await box(page).press("Enter");
  await expect(page.getByRole("alert").filter({ hasText: "Can’t reach the server" })).toBeVisible();
  await expect(box(page)).toHaveValue("What color is the circle?");
  await expect(you(page)).toHaveCount(1);
  await context.setOffline(false);
  await expect(you(page)).toHaveCount(2, { timeout: 30_000 });
  await expect(assistant(page)).toHaveCount(2);
});

test("the sample image, then Enter, sends it once; example questions fill the box", async ({ page }) => {
  await signUp(page);
  // An example question fills the box and attaches the sample image (it is a question about it).
  await page.getByRole("button", { name: "How many shapes are there?" }).click();
  await expect(box(page)).toHaveValue("How many shapes are there?");
  await expect(box(page)).toBeFocused();
  await expect(page.getByRole("list", { name: "Attached images" }).getByRole("img")).toHaveCount(1);
  // Taken off again; "Try the sample image" then attaches it with its own question.
  await page.getByRole("button", { name: "Remove" }).first().click();
  await expect(page.getByRole("list", { name: "Attached images" }).getByRole("img")).toHaveCount(0);
  await page.getByRole("button", { name: "Try the sample image" }).click();
  await expect(page.getByRole("list", { name: "Attached images" }).getByRole("img")).toHaveCount(1);
  await expect(page.getByRole("list", { name: "Attached images" }).getByRole("progressbar")).toHaveCount(0);
  await expect(box(page)).toHaveValue("Describe the image.");
  await expect(box(page)).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(you(page).getByRole("img")).toHaveCount(1);
  // The question shows its image at once, loaded, not after the answer.
  await expect
    .poll(() => you(page).getByRole("img").evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), { timeout: 5000 })
    .toBe(true);
  await expect(assistant(page).first()).not.toBeEmpty();
});

test("a ninth image is refused with a notice; a failed attachment shows why and blocks Send until removed", async ({ page }) => {
  await signUp(page);
  const thumbs = page.getByRole("list", { name: "Attached images" });
  await page.getByTestId("file-input").setInputFiles(Array.from({ length: 9 }, (_, i) => image(`shape-${i + 1}.png`)));
  await expect(thumbs.getByRole("listitem")).toHaveCount(8);
  await expect(page.getByRole("alert").filter({ hasText: "At most 8 images per message: 1 was not attached." })).toBeVisible();
  for (let i = 8; i > 0; i--) await thumbs.getByRole("button", { name: /^Remove / }).first().click();
  await expect(thumbs).toHaveCount(0);

  const longName = `quarterly-report-with-a-very-long-file-name-that-goes-on-${"x".repeat(40)}.txt`;
  await page.getByTestId("file-input").setInputFiles([{ name: longName, mimeType: "text/plain", buffer: Buffer.from("not an image") }]);
  await expect(thumbs.getByRole("alert")).toBeVisible();
  await box(page).fill("What is this?");
  const send = page.getByRole("button", { name: "Send" });
  await expect(send).toBeDisabled();
  await expect(page.getByText("Remove the images that could not be attached to send.")).toBeVisible();
  // The whole reason, which the tile has no room for, is said beside Send.
  await expect(page.getByRole("status").filter({ hasText: "Remove the images" })).toContainText(`${longName}: `);
  await box(page).press("Enter");
  await expect(you(page)).toHaveCount(0);
  // The name stays inside its tile.
  const tile = thumbs.getByRole("listitem").first();
  const name = tile.locator(".thumb-name");
  const [tileBox, nameBox] = [await tile.boundingBox(), await name.boundingBox()];
  expect(nameBox!.x + nameBox!.width).toBeLessThanOrEqual(tileBox!.x + tileBox!.width + 1);
  await thumbs.getByRole("button", { name: `Remove ${longName}` }).click();
  await expect(send).toBeEnabled();
});

test("edit an earlier question: a new branch, the old one a click away (‹ 1/2 ›), and both survive a reload", async ({ page }) => {
  await signUp(page);
  await page.getByTestId("file-input").setInputFiles([image()]);
  await expect(page.getByRole("list", { name: "Attached images" }).getByRole("progressbar")).toHaveCount(0);
  await box(page).fill("What color is the circle?");
  await box(page).press("Enter");
  await expect(assistant(page).first()).toContainText("red");
  await box(page).fill("What shape is red?");
  await box(page).press("Enter");
  await expect(assistant(page).nth(1)).toContainText("circle");

  // Edit the first question; its image comes along.
  await you(page).first().getByRole("button", { name: "Edit" }).click();
  await expect(box(page)).toBeFocused();
  await expect(box(page)).toHaveValue("What color is the circle?");
  await box(page).fill("How many shapes are there?");
  await page.getByRole("button", { name: "Send edit" }).click();
  await expect(assistant(page).first()).toContainText("There is 1 shape.");
  await expect(you(page)).toHaveCount(1);
  const versions = you(page).first().getByRole("group", { name: "Question versions" });
  await expect(versions).toContainText("2/2");
  await expect(you(page).first().getByRole("img")).toHaveCount(1);
  await shots(page, "branch-switcher");

  // Back to the first version: the whole first branch.
  await versions.getByRole("button", { name: "Previous version" }).click();
  await expect(versions).toContainText("1/2");
  await expect(you(page)).toHaveCount(2);
  await expect(you(page).first()).toContainText("What color is the circle?");
  await expect(assistant(page).nth(1)).toContainText("circle");
  await page.reload();
  await expect(you(page)).toHaveCount(2);
  await expect(you(page).first().getByRole("group", { name: "Question versions" })).toContainText("1/2");
  await you(page).first().getByRole("button", { name: "Next version" }).click();
  await expect(you(page)).toHaveCount(1);
  await expect(you(page).first()).toContainText("How many shapes are there?");
  await page.reload();
  await expect(you(page).first()).toContainText("How many shapes are there?");
});

test("images open in a lightbox that zooms and closes with Esc; the pages pass an accessibility scan", async ({ page }) => {
  await page.goto("/signin");
  await expectAccessible(page, "sign-in");
  await signUp(page);
  await expectAccessible(page, "empty chat");
  await page.getByTestId("file-input").setInputFiles([image()]);
  await expect(page.getByRole("list", { name: "Attached images" }).getByRole("progressbar")).toHaveCount(0);
  await box(page).fill("What color is the circle?");
  await box(page).press("Enter");
  await expect(assistant(page).first()).toContainText("red");
  await expectAccessible(page, "a chat with answers");

  await you(page).first().getByRole("button", { name: "View the image" }).click();
  const viewer = page.getByRole("dialog", { name: "Image viewer" });
  await expect(viewer).toBeVisible();
  await expect(viewer.getByRole("img")).toBeVisible();
  await viewer.getByRole("button", { name: "Zoom in" }).click();
  await expect(viewer).toContainText("150%");
  await expectAccessible(page, "the lightbox");
  await shots(page, "lightbox");
  await page.keyboard.press("Escape");
  await expect(viewer).toBeHidden();
  // Esc closed the viewer, and the chat is still here (no navigation to the raw file).
  await expect(assistant(page).first()).toContainText("red");
});

test("polish: bubbles on the right, long questions folded, a scroll-to-bottom button, Stop beside Send", { tag: "@slow-app" }, async ({ page }) => {
  await signUp(page, SLOW);
  const long = `Hello ${"and more words ".repeat(80)}`;
  await box(page).fill(long);
  await box(page).press("Enter");
  await expect(stopButton(page)).toBeVisible();
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Send" })).toBeDisabled();
  // Only the answer being written is a live region.
  await expect(page.locator("[aria-live]").filter({ has: page.locator(".markdown") })).toHaveCount(1);
  await expect.poll(async () => (await assistant(page).first().locator(".markdown").innerText()).length, { timeout: 60_000 }).toBeGreaterThan(500);
  // Random weights sometimes end on their own first; either way the answer is over after this.
  await stopButton(page).click({ timeout: 2000 }).catch(() => {});
  await expect(stopButton(page)).toHaveCount(0);
  await expect(page.locator(".messages [aria-live]")).toHaveCount(0);

  const bubble = (await you(page).first().boundingBox())!;
  const answer = (await assistant(page).first().boundingBox())!;
  expect(bubble.x + bubble.width).toBeGreaterThan(answer.x + answer.width - 2);
  expect(bubble.width).toBeLessThan(answer.width);
  await expect(you(page).first().getByRole("button", { name: "Show all" })).toBeVisible();
  const folded = (await you(page).first().boundingBox())!.height;
  await you(page).first().getByRole("button", { name: "Show all" }).click();
  expect((await you(page).first().boundingBox())!.height).toBeGreaterThan(folded);

  // The input and its buttons share one height.
  const input = (await box(page).boundingBox())!;
  const attach = (await page.getByRole("button", { name: "Attach images" }).boundingBox())!;
  expect(Math.abs(attach.height - input.height)).toBeLessThan(2);

  // A short window, so the conversation scrolls.
  await page.setViewportSize({ width: 1280, height: 420 });
  await page.locator(".messages").evaluate((el) => el.scrollTo(0, 0));
  const down = page.getByRole("button", { name: "Scroll to the newest message" });
  await expect(down).toBeVisible();
  await down.click();
  await expect(down).toBeHidden();
});

test("a chat that does not exist has a way back; with ENGINE_PRELOAD=false nothing pretends to load", async ({ page }) => {
  await signUp(page);
  const res = await page.goto("/c/no-such-conversation");
  expect(res?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "This conversation doesn’t exist" })).toBeVisible();
  await page.getByRole("link", { name: "Start a new chat" }).click();
  await expect(page.getByRole("heading", { name: "What would you like to know about an image?" })).toBeVisible();

  await signUpOnly(page, `http://127.0.0.1:${NOLOAD_PORT}`);
  await expect(page.getByText("The model loads when you send the first message.")).toBeVisible();
  await expect(page.getByText("Loading the model…")).toHaveCount(0);
  await box(page).fill("How many shapes are there?");
  await box(page).press("Enter");
  await expect(assistant(page).first()).toContainText("shape", { timeout: 60_000 });
});

test("with several models in the catalog, a picker switches the model mid-conversation and the answer says so", { tag: "@slow-app" }, async ({ page }) => {
  // The slow app's catalog holds the demo model (models/) and the random-weight pair (MODEL_PATH).
  await signUp(page, SLOW);
  const picker = page.getByRole("combobox", { name: "Model" });
  await expect(picker.getByRole("option")).toHaveCount(2);
  const random = await picker.inputValue();
  await picker.selectOption("mini-llava-shapes");
  await page.getByRole("button", { name: "Load" }).click();
  await expect(page.getByText("Loading the model…").or(page.getByText("mini-llava-shapes", { exact: true }))).toBeVisible();
  await expect(page.getByText("mini-llava-shapes", { exact: true })).toBeVisible({ timeout: 60_000 });
  await expect(picker).toHaveValue("mini-llava-shapes");
  await box(page).fill("How many shapes are there?");
  await box(page).press("Enter");
  await expect(assistant(page).first()).toContainText("shape");
  await expect(stopButton(page)).toHaveCount(0);
  try {
    await picker.selectOption(random);
    await page.getByRole("button", { name: "Load" }).click();
    await expect(page.getByText("mini-llava-shapes", { exact: true })).toHaveCount(0, { timeout: 60_000 });
    await expect(picker).toHaveValue(random);
    await expect(picker).toBeEnabled();
    await box(page).fill("Hello");
    await box(page).press("Enter");
    await expect(assistant(page).nth(1).locator(".markdown")).not.toBeEmpty();
    await stopButton(page).click();
    await expect(assistant(page).nth(1)).toContainText(`Answered by ${random}`);
    await expect(assistant(page).first()).not.toContainText("Answered by");
  } finally {
    // The other tests on this app expect the random-weight model.
    await page.request.post(`${SLOW}/api/models`, { data: { id: random } });
  }
});

test("a send refused before anything is saved gives the question back; an edit sent while offline is sent once the server is back", async ({ page, context }) => {
  await signUp(page);
  await box(page).fill("How many shapes are there?");
  await box(page).press("Enter");
  await expect(assistant(page).first()).toContainText("shape");

  // The server refuses the next send outright (as it does when the model is busy): the words come back.
  await page.route("**/api/chat", (route) =>
    route.fulfill({ status: 503, contentType: "application/json", body: JSON.stringify({ error: { code: "unavailable:engine", message: "The model is busy with other answers. Try again in a few seconds." } }) }),
  );
  await box(page).fill("What color is the circle?");
  await box(page).press("Enter");
  await expect(page.getByRole("alert").filter({ hasText: "The model is busy" })).toBeVisible();
  await expect(box(page)).toHaveValue("What color is the circle?");
  await expect(you(page)).toHaveCount(1);
  await page.unroute("**/api/chat");

  // Edit the first question while offline: kept, then sent as a new version when the server is back.
  await you(page).first().getByRole("button", { name: "Edit" }).click();
  await expect(box(page)).toHaveValue("How many shapes are there?");
  await box(page).fill("Describe the image.");
  await context.setOffline(true);
  await page.getByRole("button", { name: "Send edit" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Can’t reach the server" })).toBeVisible();
  await expect(box(page)).toHaveValue("Describe the image.");
  await expect(you(page).first()).toContainText("How many shapes are there?");
  await context.setOffline(false);
  await expect(you(page).first().getByRole("group", { name: "Question versions" })).toContainText("2/2", { timeout: 30_000 });
  await expect(you(page).first()).toContainText("Describe the image.");
  // Cancel gives back a draft an Edit set aside.
  await box(page).fill("an unsent thought");
  await you(page).first().getByRole("button", { name: "Edit" }).click();
  await page.getByRole("button", { name: "Cancel" }).click();
  await expect(box(page)).toHaveValue("an unsent thought");
});

test("drafts are forgotten at sign-out: the next person in the tab does not see them", async ({ page }) => {
  await signUp(page);
  await box(page).fill("a private draft");
  await page.reload();
  await expect(box(page)).toHaveValue("a private draft");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/signin/);
  await signUp(page);
  await expect(box(page)).toHaveValue("");
});
