import fs from "node:fs";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import sharp from "sharp";
import { singleShapeSvg, type Shape } from "../helpers/shape-scenes";
import { signUp } from "./helpers";

const SHOTS = path.resolve(import.meta.dirname, "..", "..", "test-results", "screenshots");

const assistant = (page: Page) => page.getByRole("article", { name: "Assistant" });

/** Starts a new chat with one shape image dropped on it and asks about it; returns the conversation's path. */
async function chatAbout(page: Page, colour: string, shape: Shape): Promise<string> {
  await page.goto("/");
  const b64 = (await sharp(Buffer.from(singleShapeSvg(colour, shape))).png().toBuffer()).toString("base64");
  const transfer = await page.evaluateHandle(
    ([data, name]) => {
      const dt = new DataTransfer();
      dt.items.add(new File([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))], name, { type: "image/png" }));
      return dt;
    },
    [b64, `${colour}-${shape}.png`] as const,
  );
  await page.dispatchEvent("main.chat", "dragover", { dataTransfer: transfer });
  await page.dispatchEvent("main.chat", "drop", { dataTransfer: transfer });
  const thumbs = page.getByRole("list", { name: "Attached images" });
  await expect(thumbs.getByRole("img")).toHaveCount(1);
  await expect(thumbs.getByRole("progressbar")).toHaveCount(0);
  await page.getByLabel("Your message").fill(`What color is the ${shape}?`);
  await page.getByLabel("Your message").press("Enter");
  await expect(assistant(page).last()).toContainText(colour);
  await expect(page).toHaveURL(/\/c\/[a-z0-9]+$/);
  return new URL(page.url()).pathname;
}

test("find the red circle among three chats' images, open its chat, ask about it again", async ({ page }) => {
  await signUp(page);
  const redChat = await chatAbout(page, "red", "circle");
  await chatAbout(page, "blue", "square");
  await chatAbout(page, "green", "triangle");

  await page.getByRole("link", { name: "Images", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Images", exact: true })).toBeVisible();
  await expect(page.getByTestId("index-progress")).toHaveText("indexed 3 / 3");
  const cards = page.getByTestId("image-card");
  await expect(cards).toHaveCount(3);

  await page.getByLabel("Search your images").fill("red circle");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page.getByRole("heading", { name: "Results for “red circle”" })).toBeVisible();
  const first = cards.first();
  await expect(first).toContainText("visual match");
  await expect(first.getByRole("link", { name: "Open the conversation" })).toHaveAttribute("href", redChat);
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, "images-desktop.png") });

  // Filters: one conversation shows only its image; a date range in the past shows none.
  const filters = page.getByRole("group", { name: "Filters" });
  await page.getByRole("button", { name: "Show all" }).click();
  await expect(cards).toHaveCount(3);
  const unfiltered = 3;
  await filters.getByLabel("Conversation").selectOption({ value: new URL(redChat, "http://x").pathname.split("/").pop()! });
  await expect(cards).toHaveCount(1);
  await filters.getByLabel("Conversation").selectOption({ label: "All conversations" });
  await expect(cards).toHaveCount(unfiltered);
  await filters.getByLabel("To").fill("2020-01-01");
  await expect(page.getByText("No image matches.")).toBeVisible();
  await filters.getByLabel("To").clear();
  await expect(cards).toHaveCount(unfiltered);
  // Back to the search.
  await page.getByLabel("Search your images").fill("red circle");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(cards.first()).toContainText("visual match");

  // Zero-shot labels for the hit: circle comes first.
  await first.getByRole("button", { name: "Labels" }).click();
  await expect(first.getByRole("list", { name: "Label probabilities" }).getByRole("listitem").first()).toContainText("circle");

  // The whole library by the same labels: the red circle under "circle".
  await page.getByRole("button", { name: "Group all by these labels" }).click();
  const byLabel = page.getByRole("region", { name: "Library by label" });
  await expect(byLabel.getByRole("list", { name: "Images labelled circle" }).locator(`[data-image-id="${await first.getAttribute("data-image-id")}"]`)).toHaveCount(1);
  await page.getByRole("button", { name: "Hide groups" }).click();

  // More like this: the other two images, never the red circle itself.
  const id = await first.getAttribute("data-image-id");
  await first.getByRole("button", { name: "More like this" }).click();
  await expect(page.getByRole("heading", { name: /^More like this: / })).toBeVisible();
  await expect(page.getByRole("searchbox", { name: "Search your images" })).toHaveValue("");
  await expect(cards).toHaveCount(2);
  await expect(page.locator(`[data-image-id="${id}"]`)).toHaveCount(0);

  // Phone: the grid in two columns, the search box on top, the filters folded so the images come first.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  const folded = page.locator("details.images-filters");
  await expect(cards).toHaveCount(3);
  await expect(folded).not.toHaveAttribute("open");
  await expect(filters).toBeHidden();
  await expect(cards.first()).toBeInViewport();
  await expect(page.getByTestId("index-progress")).toHaveText("indexed 3 / 3");
  await folded.getByText("Filters and labels").click();
  await expect(filters.getByLabel("Conversation")).toBeVisible();
  await page.getByLabel("Search your images").fill("red circle");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(cards.first()).toHaveAttribute("data-image-id", id!);
  await page.screenshot({ path: path.join(SHOTS, "images-phone.png") });
  await page.setViewportSize({ width: 1280, height: 800 });

  // Open the conversation it came from.
  await cards.first().getByRole("link", { name: "Open the conversation" }).click();
  await expect(page).toHaveURL(new RegExp(`${redChat}$`));
  await expect(assistant(page).first()).toContainText("red");

  // Ask about this image: a new chat with it attached.
  await page.goto("/images");
  await page.getByLabel("Search your images").fill("red circle");
  await page.getByRole("button", { name: "Search" }).click();
  await cards.first().getByRole("link", { name: "Ask about this image" }).click();
  await expect(page).toHaveURL(new RegExp(`/\\?image=${id}$`));
  const thumbs = page.getByRole("list", { name: "Attached images" });
  await expect(thumbs.getByRole("img")).toHaveCount(1);
  await page.getByLabel("Your message").fill("What shape is red?");
  await page.getByLabel("Your message").press("Enter");
  await expect(assistant(page).last()).toContainText("circle");
  await expect(page).toHaveURL(/\/c\/[a-z0-9]+$/);
  expect(new URL(page.url()).pathname).not.toBe(redChat);
  await page.screenshot({ path: path.join(SHOTS, "images-ask-desktop.png") });
});
