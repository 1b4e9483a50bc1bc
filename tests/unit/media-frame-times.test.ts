import { describe, expect, it } from "vitest";
import { bestPages } from "@/lib/media/prompt-parts";
import { sniffUpload } from "@/lib/media/sniff";
import { formatTime } from "@/lib/media/types";
import { pickFrameTimes } from "@/lib/media/video";

describe("pickFrameTimes", () => {
  it("samples uniformly when there is no cut", () => {
    expect(pickFrameTimes({ duration: 8, scenes: [], max: 4 })).toEqual([1, 3, 5, 7]);
  });
  it("gives every shot a frame, in its middle", () => {
    expect(pickFrameTimes({ duration: 4, scenes: [1, 2, 3], max: 4 })).toEqual([0.5, 1.5, 2.5, 3.5]);
  });
  it("sees a short shot between two uniform samples", () => {
    // A 0.4 s shot at 4.8 s would fall between uniform samples at 3.75 and 6.25.
    const times = pickFrameTimes({ duration: 10, scenes: [4.8, 5.2], max: 4 });
    expect(times.some((t) => t > 4.8 && t < 5.2)).toBe(true);
    expect(times).toHaveLength(4);
  });
  it("keeps the longest shots when there are more shots than frames", () => {
    expect(pickFrameTimes({ duration: 10, scenes: [1, 1.2, 1.4, 6], max: 2 })).toEqual([3.7, 8]);
  });
});

describe("media helpers", () => {
  it("labels times as a player does", () => {
    expect([formatTime(0.4), formatTime(1.99), formatTime(61), formatTime(3725)]).toEqual(["0:00", "0:01", "1:01", "1:02:05"]);
  });
  it("picks the pages that share the most words with the question, in page order", () => {
    const pages = ["intro", "revenue table", "cats and dogs", "revenue by region", "appendix"].map((text, i) => ({ page: i + 1, text }));
    expect(bestPages(pages, "What was the revenue?", 2)).toEqual([2, 4]);
    expect(bestPages(pages.slice(0, 2), "anything", 4)).toEqual([1, 2]);
  });
  it("refuses bytes that contradict a known extension and names both", () => {
    expect(() => sniffUpload(Buffer.from("%PDF-1.7\n"), "movie.webm")).toThrow(/named "movie.webm" but its bytes are not a WebM\/MKV file \(they are a PDF document\)/);
    expect(sniffUpload(Buffer.from("a,b\n1,2\n"), "t.csv")).toMatchObject({ kind: "data", format: "csv" });
    expect(sniffUpload(Buffer.from("RIFF\0\0\0\0WAVEfmt "), null)).toMatchObject({ kind: "audio", format: "wav" });
  });
});
