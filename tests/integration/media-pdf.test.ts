import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { imagesInPrompt, imageTokens, libraryFinds, partsOf, startMediaApp, uploadFile, type MediaApp } from "../helpers/media-app";
import { textPdf } from "../helpers/media-files";

// PDFs through the real app: page images (pdf.js) and the text layer reach
// the engine; a long document gives the pages that match the question; the
// library finds a page; encrypted, damaged and too-long files are refused.

describe("PDF uploads", () => {
  let app: MediaApp;
  let perImage: number;
  beforeAll(async () => {
    app = await startMediaApp({ PDF_MAX_PAGES: "8", PDF_PROMPT_PAGES: "2" });
    perImage = await imageTokens(app.client);
  });
  afterAll(() => app?.stop());

  it("renders every page with its text, and the pages reach the engine", async () => {
    const pdf = textPdf([
      { text: "Quarterly report", rgb: [0.1, 0.2, 0.9] },
      { text: "A red circle", rgb: [0.86, 0.12, 0.12], shape: "circle" },
    ]);
    const before = app.storedFiles().length;
    const up = await uploadFile(app.client, pdf, "report.pdf", "application/pdf");
    expect(up.status).toBe(201);
    expect(up.body.attachment.mediaType).toBe("application/pdf");
    expect(app.storedFiles().length).toBe(before + 3);
    const parts = await partsOf(app.client, up.body.attachment.id);
    expect(parts.info).toMatchObject({ kind: "pdf", pageCount: 2, pages: [{ page: 1, text: "Quarterly report" }, { page: 2, text: "A red circle" }] });
    expect(parts.parts.map((p) => [p.label, p.page])).toEqual([["Page 1", 1], ["Page 2", 2]]);

    const seen = await imagesInPrompt(app.client, { ...up.body.attachment, mediaType: "application/pdf" }, "What does the report show?", perImage, { maxPages: 2 });
    expect(seen.images).toBe(2);

    const hit = await libraryFinds(app.client, "red circle");
    expect(hit.source).toMatchObject({ id: up.body.attachment.id, mediaType: "application/pdf", label: "Page 2", page: 2 });
  });

  it("gives the model the pages of a long document that best match the question", async () => {
    const topics = ["cover", "contents", "otters swim", "budget", "otters sleep", "appendix"];
    const up = await uploadFile(app.client, textPdf(topics.map((text) => ({ text }))), "long.pdf");
    expect(up.status).toBe(201);
    const seen = await imagesInPrompt(app.client, { ...up.body.attachment, mediaType: "application/pdf" }, "Where do otters sleep and swim?", perImage, { maxPages: 2 });
    // PDF_PROMPT_PAGES = 2: pages 3 and 5, not all six.
    expect(seen.images).toBe(2);
    const parts = await partsOf(app.client, up.body.attachment.id);
    expect(parts.parts).toHaveLength(6);
  });

  it.each([
    ["an encrypted PDF", () => textPdf([{ text: "secret" }], { encrypt: true }), 400, /encrypted \(password-protected\)/],
    ["a damaged PDF", () => Buffer.from("%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"), 400, /PDF is damaged/],
    ["a PDF past the page cap", () => textPdf(Array.from({ length: 9 }, (_, i) => ({ text: `page ${i + 1}` }))), 413, /The PDF has 9 pages; the limit is 8 pages/],
    ["a CSV named .pdf", () => Buffer.from("a,b\n1,2\n"), 400, /named "x.pdf" but its bytes are not a PDF document \(they are a text table/],
  ])("refuses %s, naming the problem, and stores nothing", async (_what, make, status, message) => {
    const [files, rows] = [app.storedFiles(), await app.attachmentRows()];
    const res = await uploadFile(app.client, make(), "x.pdf");
    expect(res.status).toBe(status);
    expect(res.body.error.message).toMatch(message);
    expect(app.storedFiles()).toEqual(files);
    expect(await app.attachmentRows()).toBe(rows);
  });
});
