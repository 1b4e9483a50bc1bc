import { describe, expect, it } from "vitest";
import { rankHybrid, visualFloor } from "@/lib/images/hybrid-rank";

// Issue 24, defect 7: the library's best image was a "visual match" for any query, however unlike.
describe("the visual relevance floor", () => {
  const ids = ["blue-square", "red-circle", "green-triangle"];

  it("finds nothing when no image clears the floor, though one is the library's best", () => {
    // "purple hexagon" against the shipped CLIP: 0.39 for the blue square, less for the others.
    const visual = Float32Array.of(0.39, -0.01, 0.05);
    expect(rankHybrid({ ids, visual, text: [], words: ["purple", "hexagon"] }).map((r) => r.id)).toEqual(["blue-square"]);
    expect(rankHybrid({ ids, visual, text: [], words: ["purple", "hexagon"], floor: visualFloor("shapes-clip") })).toEqual([]);
  });

  it("keeps a true match, and a text match below the floor for its text alone", () => {
    const visual = Float32Array.of(0.89, 0.11, 0.3);
    const text = [{ id: "green-triangle", bm25: -2, captionWords: ["blue", "square"], chatWords: [] }];
    const ranked = rankHybrid({ ids, visual, text, words: ["blue", "square"], floor: visualFloor("shapes-clip") });
    expect(ranked.map((r) => [r.id, r.reasons])).toEqual([
      ["blue-square", ["visual"]],
      ["green-triangle", ["caption"]],
    ]);
  });

  it("is calibrated for the shipped CLIP only: another model gets none", () => {
    expect(visualFloor("shapes-clip")).toBe(0.77);
    expect(visualFloor("clip-vit-base-patch32")).toBe(-1);
  });
});
