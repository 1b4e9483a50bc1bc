import fs from "node:fs";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { chirp, HAS_ESPEAK, salesCsv, shapeVideo, spoken, textPdf, wav, wordErrors } from "../helpers/media-files";
import { signUp } from "./helpers";

// Issue #22 in the browser, on the demo model: a video, an audio file, a PDF
// and a CSV dropped into one chat, each file made here (the video and audio
// with the ffmpeg the app ships). Each is read with its progress shown in
// the tile, shown in the conversation as its kind (player and filmstrip,
// spectrogram, page thumbnails, chart and table) and answered about.

const SHOTS = path.resolve(import.meta.dirname, "..", "..", "test-results", "screens-22");

const assistant = (page: Page) => page.getByRole("article", { name: "Assistant" });

/** Drops one file on the chat, as a user dragging it from the desktop does. */
async function drop(page: Page, bytes: Buffer, name: string, type: string) {
  const transfer = await page.evaluateHandle(
    ([data, name, type]) => {
      const dt = new DataTransfer();
      dt.items.add(new File([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))], name, { type }));
      return dt;
    },
    [bytes.toString("base64"), name, type] as const,
  );
  await page.dispatchEvent("main.chat", "dragover", { dataTransfer: transfer });
  await page.dispatchEvent("main.chat", "drop", { dataTransfer: transfer });
}

/** Waits for the dropped file's tile to be ready, asks about it and waits for the whole answer. */
async function ask(page: Page, question: string, ready: RegExp) {
  const tiles = page.getByRole("list", { name: "Attached images" });
  await expect(tiles.getByTestId("media-ready")).toHaveText(ready, { timeout: 60_000 });
  const answers = await assistant(page).count();
  await page.getByLabel("Your message").fill(question);
  await expect(page.getByRole("button", { name: "Send", exact: true })).toBeEnabled();
  await page.getByRole("button", { name: "Send", exact: true }).click();
  await expect(assistant(page)).toHaveCount(answers + 1);
  const answer = assistant(page).nth(answers);
  // The answer is written to the end (Stop goes away) and says something.
  await expect(page.getByRole("button", { name: "Stop" })).toHaveCount(0, { timeout: 90_000 });
  await expect(answer).not.toHaveText(/^\s*$/);
  return answer;
}

test("a video, an audio file, a PDF and a CSV in one chat: progress, their views, an answer about each", async ({ page }) => {
  // Four files read and four answers on a shared 2-core machine (a run at load average 20 took over 5 minutes).
  test.setTimeout(600_000);
  await page.emulateMedia({ colorScheme: "light" });
  await page.setViewportSize({ width: 1280, height: 800 });
  fs.mkdirSync(SHOTS, { recursive: true });
  await signUp(page);

  // What the demo model (it sees, it cannot hear) takes: every kind, audio through its spectrogram.
  const kinds = page.getByRole("list", { name: "What this model takes" });
  await expect(kinds.getByRole("listitem")).toHaveText(["images", "video", "audio", "PDF", "tables"]);
  await expect(kinds.locator('[data-kind="audio"]')).toHaveAttribute("data-how", "converted");
  await expect(kinds.locator('[data-how="no"]')).toHaveCount(0);
  // What audio becomes is said once an audio file is attached, not on every empty composer.
  await expect(page.getByTestId("kinds-why")).toHaveText("");
  await expect(page.getByRole("button", { name: "Attach images" })).toHaveAttribute("title", "Attach images, video, audio, PDF and tables");

  // A refused file: the tile says why, in full (the server's 400 names the problem), and Send waits until it is removed.
  await drop(page, Buffer.from("city,sales\nOslo,1\n"), "report.pdf", "application/pdf");
  const failed = page.getByRole("list", { name: "Attached images" }).getByRole("alert");
  await expect(failed).toHaveText(/^The file is named "report\.pdf" but its bytes are not a PDF document \(they are a text table/);
  expect(await failed.evaluate((el) => el.scrollHeight <= el.clientHeight + 1)).toBe(true);
  await page.screenshot({ path: path.join(SHOTS, "00-refused-file-desktop.png") });
  await page.getByRole("button", { name: "Remove report.pdf" }).click();
  await expect(failed).toHaveCount(0);

  // 1. Video: five 2-second scenes (VP8 WebM, which Chromium plays); its reading shows progress in the tile.
  const video = await shapeVideo(
    [
      { colour: "red", shape: "circle" },
      { colour: "blue", shape: "square" },
      { colour: "green", shape: "triangle" },
      { colour: "red", shape: "square" },
      { colour: "blue", shape: "circle" },
    ],
    { secondsEach: 2, format: "webm", size: 320 },
  );
  await drop(page, video, "shapes.webm", "video/webm");
  const progress = page.getByTestId("media-progress");
  await expect(progress).toHaveText(/^(Uploading…|Reading video…) \d+ %$/);
  // Past 0 %: the scene pass is done and frames are being extracted (8 planned, one ffmpeg run each).
  await expect(progress).toHaveText(/^Reading video… [1-9]\d* %$/);
  await page.screenshot({ path: path.join(SHOTS, "01-video-reading-desktop.png") });
  await ask(page, "What happens in the video?", /^Video · 0:10 · \d+ frames$/);
  const player = page.getByRole("figure", { name: "Video" }).last();
  await expect(player.getByLabel("Attached video")).toBeVisible();
  const frames = player.getByRole("list", { name: "Frames the model saw" }).getByRole("listitem");
  expect(await frames.count()).toBeGreaterThanOrEqual(5);
  // A click on a frame seeks the player to its time.
  const third = frames.nth(2);
  const label = (await third.getAttribute("aria-label"))!;
  const [, m, s] = /, (\d+):(\d\d): play from here$/.exec(label)!;
  await third.click();
  await expect(third).toHaveAttribute("aria-current", "true");
  await expect
    .poll(() => player.getByLabel("Attached video").evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 15_000 })
    .toBeGreaterThanOrEqual(Number(m) * 60 + Number(s));
  await player.getByLabel("Attached video").evaluate((v: HTMLVideoElement) => v.pause());

  // 2. Audio: a spoken question (espeak-ng; a chirp without it); the model (vision only) gets
  // its spectrogram and the transcript the shipped speech model writes.
  await drop(page, HAS_ESPEAK ? spoken("how many shapes are there") : wav(chirp(2)), "question.wav", "audio/wav");
  await expect(page.getByTestId("kinds-why")).toHaveText("This model can't hear audio: it gets the audio's spectrogram, a picture of its sound, instead.");
  await ask(page, "What does the audio sound like?", /^Audio · 0:0\d$/);
  const audio = page.getByRole("figure", { name: "Audio" }).last();
  await expect(audio.getByLabel("Attached audio")).toBeVisible();
  await expect(audio.getByRole("img", { name: /Mel spectrogram/ })).toBeVisible();
  await expect(audio).toContainText("a model that hears audio gets the clip, any other this spectrogram");
  if (HAS_ESPEAK) {
    const transcript = audio.getByLabel("Transcript");
    await expect(transcript).toContainText("machine-made by shapes-asr");
    // The demo speech model may spell one word wrong (its model card).
    expect(wordErrors((await transcript.locator("p").textContent()) ?? "", "how many shapes are there")).toBeLessThanOrEqual(1);
    await audio.screenshot({ path: path.join(SHOTS, "01a-audio-transcript-desktop.png") });
  }

  // 3. PDF: two pages; a thumbnail opens its page in the viewer.
  await drop(
    page,
    textPdf([
      { text: "Quarterly report", rgb: [0.1, 0.2, 0.9] },
      { text: "A red circle", rgb: [0.86, 0.12, 0.12], shape: "circle" },
    ]),
    "report.pdf",
    "application/pdf",
  );
  await ask(page, "What is on page 2 of the report?", /^PDF · 2 pages$/);
  const pdf = page.getByRole("figure", { name: "PDF document" }).last();
  await expect(pdf.getByRole("list", { name: "Pages" }).getByRole("listitem")).toHaveCount(2);
  await pdf.getByRole("listitem", { name: "Open Page 2" }).click();
  const viewer = page.getByRole("dialog", { name: "Image viewer" });
  await expect(viewer.getByRole("img", { name: "Attached image, enlarged" })).toBeVisible();
  await page.screenshot({ path: path.join(SHOTS, "02-pdf-page-viewer-desktop.png") });
  await viewer.getByRole("button", { name: "Close the image viewer" }).click();
  await expect(viewer).toBeHidden();

  // 4. CSV: a chart and a scrollable table.
  await drop(page, salesCsv(12), "sales.csv", "text/csv");
  await ask(page, "Which city sold the most?", /^Table · 12 rows$/);
  const table = page.getByRole("figure", { name: "Table" }).last();
  await expect(table.getByRole("button", { name: "View the chart" }).getByRole("img")).toBeVisible();
  await expect(table.getByRole("region", { name: "Table rows" }).getByRole("row")).toHaveCount(13);
  await expect(table).toContainText("12 rows × 3 columns");

  // All four in one conversation, after a reload too (the views come from the server).
  await expect(page).toHaveURL(/\/c\/[a-z0-9]+$/);
  await page.reload();
  for (const name of ["Video", "Audio", "PDF document", "Table"]) await expect(page.getByRole("figure", { name })).toHaveCount(1);
  await expect(assistant(page)).toHaveCount(4);
  await page.getByRole("figure", { name: "Video" }).scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(SHOTS, "03-chat-video-audio-desktop.png") });
  await page.getByRole("figure", { name: "Table" }).scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(SHOTS, "04-chat-pdf-table-desktop.png") });
  await page.screenshot({ path: path.join(SHOTS, "05-chat-full-desktop.png"), fullPage: true });

  // Phone, light.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  await expect(page.getByRole("figure", { name: "Table" })).toHaveCount(1);
  await page.getByRole("figure", { name: "Video" }).scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(SHOTS, "06-chat-video-phone.png") });
  await page.getByRole("figure", { name: "PDF document" }).scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(SHOTS, "07-chat-pdf-phone.png") });
  await page.getByRole("figure", { name: "Table" }).scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(SHOTS, "08-chat-table-phone.png") });
  // A file being read, on the phone: the tile's progress beside the kinds the model takes.
  await drop(page, video, "shapes-again.webm", "video/webm");
  await page.screenshot({ path: path.join(SHOTS, "09-composer-tile-phone.png") });
  await expect(page.getByRole("list", { name: "Attached images" }).getByTestId("media-ready")).toHaveText(/^Video · 0:10/, { timeout: 60_000 });
  await page.screenshot({ path: path.join(SHOTS, "10-composer-ready-phone.png") });
});
