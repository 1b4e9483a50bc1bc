import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chat } from "../helpers/chat";
import { imagesInPrompt, imageTokens, partsOf, savedMessages, startMediaApp, uploadFile, type MediaApp } from "../helpers/media-app";
import { salesCsv, xlsx, xlsxBomb } from "../helpers/media-files";

// Tables (CSV, TSV, JSON records) through the real app: a summary and a
// chart reach the engine; caps and bad input are refused with nothing stored.

describe("data uploads", () => {
  let app: MediaApp;
  let perImage: number;
  beforeAll(async () => {
    app = await startMediaApp({ DATA_MAX_ROWS: "500", DATA_MAX_COLUMNS: "6" });
    perImage = await imageTokens(app.client);
  });
  afterAll(() => app?.stop());

  it("reads a CSV into a summary and a chart, and the chart reaches the engine", async () => {
    const before = app.storedFiles().length;
    const up = await uploadFile(app.client, salesCsv(12), "sales.csv", "text/csv");
    expect(up.status).toBe(201);
    expect(up.body.attachment.mediaType).toBe("text/csv");
    // The source and one chart, content-addressed.
    expect(app.storedFiles().length).toBe(before + 2);

    const parts = await partsOf(app.client, up.body.attachment.id);
    expect(parts.info).toMatchObject({
      kind: "data",
      rowCount: 12,
      columns: [
        { name: "city", type: "text" },
        { name: "month", type: "date" },
        { name: "sales", type: "number" },
      ],
      chart: { mark: "line", x: "month", y: "sales" },
    });
    expect(parts.info.kind === "data" && parts.info.summary).toMatch(/12 rows × 3 columns[\s\S]*Oslo \| 2026-01-01 \| 100/);
    expect(parts.parts.map((p) => p.label)).toEqual(["Chart"]);
    const chart = await app.client.fetch(parts.parts[0]!.url);
    expect(chart.headers.get("content-type")).toBe("image/png");
    const meta = await sharp(Buffer.from(await chart.arrayBuffer())).metadata();
    expect(meta.width).toBeGreaterThan(300);

    const seen = await imagesInPrompt(app.client, { ...up.body.attachment, mediaType: "text/csv" }, "Which month sold most?", perImage);
    expect(seen.images).toBe(1);
    expect(seen.expected).toBe(1);

    // A follow-up reuses the cached state: the whole first turn (chart included) is not evaluated again.
    const r = await chat(app.client, { id: seen.conversationId, message: { role: "user", parts: [{ type: "text", text: "And the least?" }] } });
    expect(r.status).toBe(200);
    const messages = await savedMessages(app.client, seen.conversationId);
    expect(messages).toHaveLength(4);
    expect(messages[3]!.reusedTokens).toBeGreaterThanOrEqual(messages[1]!.promptTokens! - 1);
  });

  it.each([
    ["a TSV", Buffer.from("name\tweight\tlength\na\t1.5\t10\nb\t2.5\t20\nc\t3\t31\n"), "fish.tsv", { mark: "bar", x: "name", y: "weight" }],
    ["JSON records", Buffer.from(JSON.stringify([{ x: 1, y: 2 }, { x: 2, y: 4 }, { x: 3, y: 5 }])), "points.json", { mark: "scatter", x: "x", y: "y" }],
    ["an XLSX workbook's first sheet", xlsx([["fruit", "kg"], ["apple", 3], ["pear", 5], ["plum", 2]]), "fruit.xlsx", { mark: "bar", x: "fruit", y: "kg" }],
  ])("reads %s and picks its chart from the column types", async (_what, bytes, name, chart) => {
    const up = await uploadFile(app.client, bytes, name);
    expect(up.status).toBe(201);
    const parts = await partsOf(app.client, up.body.attachment.id);
    expect(parts.info).toMatchObject({ kind: "data", rowCount: 3, chart });
  });

  it("stores the same table once and reuses what was read from it", async () => {
    const bytes = salesCsv(20);
    const a = await uploadFile(app.client, bytes, "a.csv");
    const files = app.storedFiles().length;
    const b = await uploadFile(app.client, bytes, "b.csv");
    expect(b.body.attachment.id).toBe(a.body.attachment.id);
    expect(app.storedFiles().length).toBe(files);
  });

  it.each([
    ["too many rows", () => salesCsv(501), "big.csv", 413, /more than 500 rows; the limit is 500 rows/],
    ["too many columns", () => Buffer.from("a,b,c,d,e,f,g\n1,2,3,4,5,6,7\n"), "wide.csv", 413, /more than 6 columns; the limit is 6 columns/],
    ["a header and no rows", () => Buffer.from("a,b\n"), "empty.csv", 400, /The table has no rows/],
    ["JSON that is not records", () => Buffer.from("[1, 2, 3]"), "n.json", 400, /array of records/],
    ["damaged JSON", () => Buffer.from('[{"a": 1},'), "bad.json", 400, /JSON file is damaged/],
    ["a PNG named .csv", () => sharp({ create: { width: 16, height: 16, channels: 3, background: "#fff" } }).png().toBuffer(), "t.csv", 400, /named "t.csv" but its bytes are not a text table.*they are an image/],
    ["binary bytes named .csv", () => Buffer.from([0, 1, 2, 3, 255, 254, 0, 7]), "t.csv", 400, /named "t.csv" but its bytes are not a text table/],
    ["an XLSX decompression bomb", () => xlsxBomb(100), "bomb.xlsx", 413, /unpacks to 100 MiB from \d+ KiB \(a decompression bomb\?\); the limit is 64 MiB unpacked/],
    ["a zip that is not a workbook", () => Buffer.from("PK\x03\x04\x14\x00\x00\x00\x08\x00hello.txt", "latin1"), "t.xlsx", 415, /not a supported file/],
  ])("refuses %s, naming the limit, and stores nothing", async (_what, make, name, status, message) => {
    const [files, rows] = [app.storedFiles(), await app.attachmentRows()];
    const res = await uploadFile(app.client, await make(), name);
    expect(res.status).toBe(status);
    expect(res.body.error.message).toMatch(message);
    expect(app.storedFiles()).toEqual(files);
    expect(await app.attachmentRows()).toBe(rows);
  });
});
