import { describe, expect, it } from "vitest";
import { groupByDate } from "@/lib/chat/group-by-date";

const at = (s: string) => new Date(s);
const group = (dates: string[], now: string) =>
  groupByDate(
    dates.map((d) => ({ d })),
    (x) => at(x.d),
    at(now),
  ).map((g) => [g.label, g.items.map((x) => x.d)]);

describe("groupByDate", () => {
  // Local times (no zone suffix): the buckets are the user's calendar days.
  const now = "2026-11-27T09:30:00";

  it("buckets by local calendar day: today, yesterday, the 7 days before, older", () => {
    expect(
      group(
        [
          "2026-11-27T09:00:00",
          "2026-11-27T00:00:00",
          "2026-11-26T23:59:59",
          "2026-11-26T00:00:00",
          "2026-11-25T23:59:59",
          "2026-11-19T00:00:00",
          "2026-11-18T23:59:59",
          "2025-01-01T12:00:00",
        ],
        now,
      ),
    ).toEqual([
      ["Today", ["2026-11-27T09:00:00", "2026-11-27T00:00:00"]],
      ["Yesterday", ["2026-11-26T23:59:59", "2026-11-26T00:00:00"]],
      ["Previous 7 days", ["2026-11-25T23:59:59", "2026-11-19T00:00:00"]],
      ["Older", ["2026-11-18T23:59:59", "2025-01-01T12:00:00"]],
    ]);
  });

  it("leaves empty groups out and keeps the given order inside a group", () => {
    expect(group(["2026-11-20T10:00:00", "2026-11-24T10:00:00", "2020-05-05T10:00:00"], now)).toEqual([
      ["Previous 7 days", ["2026-11-20T10:00:00", "2026-11-24T10:00:00"]],
      ["Older", ["2020-05-05T10:00:00"]],
    ]);
    expect(group([], now)).toEqual([]);
  });

  it("counts a time ahead of the clock as today", () => {
    expect(group(["2026-11-28T08:00:00"], now)).toEqual([["Today", ["2026-11-28T08:00:00"]]]);
  });

  it("crosses month and year boundaries by calendar day", () => {
    expect(group(["2026-12-31T22:00:00", "2026-12-24T10:00:00", "2026-12-23T23:00:00"], "2027-01-01T00:30:00")).toEqual([
      ["Yesterday", ["2026-12-31T22:00:00"]],
      ["Previous 7 days", ["2026-12-24T10:00:00"]],
      ["Older", ["2026-12-23T23:00:00"]],
    ]);
  });
});
