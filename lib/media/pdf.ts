import fs from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { createCanvas } from "@napi-rs/canvas";
import { MediaRefusal, type DecodeJob, type DerivedImage, type MediaInfo, type ReportProgress } from "./types";

/** Longest side of a rendered page, in pixels (the app fits it again for the model). */
const PAGE_SIDE = 1024;
/** Text kept per page (the model gets the best pages' text, cut again to its budget). */
const PAGE_TEXT_MAX = 8_000;

const require = createRequire(import.meta.url);
const pdfjsDir = path.dirname(require.resolve("pdfjs-dist/package.json"));

/**
 * PDF → one image per page (pdf.js, canvas from @napi-rs/canvas) and the
 * text layer of each page. The page count is read before any page is
 * rendered and refused past the cap; encrypted and damaged files are
 * refused with what is wrong.
 */
export async function readPdf(job: DecodeJob, report: ReportProgress = () => {}): Promise<{ info: MediaInfo; images: DerivedImage[] }> {
  const pdfjs = await import("pdfjs-dist/legacy/build/pdf.mjs");
  const data = new Uint8Array(await fs.readFile(job.input));
  let doc: Awaited<ReturnType<typeof pdfjs.getDocument>["promise"]>;
  try {
    doc = await pdfjs.getDocument({
      data,
      isEvalSupported: false,
      disableFontFace: true,
      useSystemFonts: false,
      verbosity: 0,
      standardFontDataUrl: pathToFileURL(path.join(pdfjsDir, "standard_fonts") + path.sep).href,
      cMapUrl: pathToFileURL(path.join(pdfjsDir, "cmaps") + path.sep).href,
      cMapPacked: true,
    }).promise;
  } catch (err) {
    const name = (err as Error).name;
    if (name === "PasswordException") throw new MediaRefusal("bad_request:upload", "The PDF is encrypted (password-protected). Remove the password and upload it again.");
    throw new MediaRefusal("bad_request:upload", "The PDF is damaged and cannot be read.");
  }
  try {
    if (doc.numPages > job.limits.maxPages) {
      throw new MediaRefusal("payload_too_large:upload", `The PDF has ${doc.numPages} pages; the limit is ${job.limits.maxPages} pages.`);
    }
    const images: DerivedImage[] = [];
    const pages: { page: number; text: string }[] = [];
    for (let n = 1; n <= doc.numPages; n++) {
      const page = await doc.getPage(n);
      const base = page.getViewport({ scale: 1 });
      const scale = Math.min(PAGE_SIDE / Math.max(base.width, base.height), 4);
      const viewport = page.getViewport({ scale });
      const width = Math.max(1, Math.round(viewport.width));
      const height = Math.max(1, Math.round(viewport.height));
      if (width * height > job.limits.maxPixels) throw new MediaRefusal("payload_too_large:upload", `Page ${n} is too large to render.`);
      const canvas = createCanvas(width, height);
      const ctx = canvas.getContext("2d");
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(0, 0, width, height);
      await page.render({ canvas: canvas as unknown as HTMLCanvasElement, canvasContext: ctx as unknown as CanvasRenderingContext2D, viewport }).promise;
      const file = `page-${n}.png`;
      await fs.writeFile(path.join(job.outDir, file), canvas.toBuffer("image/png"));
      images.push({ file, label: `Page ${n}`, page: n });
      const content = await page.getTextContent();
      const text = content.items
        .map((item) => ("str" in item ? item.str + (item.hasEOL ? "\n" : "") : ""))
        .join("")
        .replace(/[ \t]+/g, " ")
        .trim();
      pages.push({ page: n, text: text.slice(0, PAGE_TEXT_MAX) });
      page.cleanup();
      report(n / doc.numPages);
    }
    return { info: { kind: "pdf", pageCount: doc.numPages, pages }, images };
  } catch (err) {
    if (err instanceof MediaRefusal) throw err;
    throw new MediaRefusal("bad_request:upload", "The PDF is damaged and its pages cannot be rendered.");
  } finally {
    await doc.destroy();
  }
}
