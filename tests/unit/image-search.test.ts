import { describe, expect, it } from "vitest";
import { queryWords, rankHybrid, toClipPrompt, toFtsQuery } from "@/lib/images/hybrid-rank";
import { bytesToVector, cosineScores, normalize, topK, vectorToBytes } from "@/lib/images/vector-search";

describe("vector search", () => {
  it("scores unit vectors by cosine and keeps the k best, best first", () => {
    const rows = [normalize(Float32Array.of(1, 0)), normalize(Float32Array.of(1, 1)), normalize(Float32Array.of(0, 1)), normalize(Float32Array.of(-1, 0))];
    const matrix = new Float32Array(rows.flatMap((r) => [...r]));
    const scores = cosineScores(matrix, 2, normalize(Float32Array.of(1, 0.1)));
    expect(topK(scores, 2)).toEqual([0, 1]);
    expect(topK(scores, 10)).toEqual([0, 1, 2, 3]);
    expect(topK(scores, 0)).toEqual([]);
    expect(scores[0]).toBeCloseTo(0.995, 3);
  });

  it("agrees with a full sort on random data", () => {
    const scores = Float32Array.from({ length: 1000 }, () => Math.random());
    const sorted = [...scores.keys()].sort((a, b) => scores[b]! - scores[a]!);
    expect(topK(scores, 25)).toEqual(sorted.slice(0, 25));
  });

  it("round-trips vectors through their stored bytes", () => {
    const v = Float32Array.of(0.25, -1.5, 3);
    expect([...bytesToVector(vectorToBytes(v))]).toEqual([0.25, -1.5, 3]);
  });
});

describe("hybrid ranking", () => {
  const ids = ["a", "b", "c", "d"];
  const visual = Float32Array.of(0.9, 0.5, 0.1, 0.1);

  it("ranks by visual similarity alone and says so", () => {
    const ranked = rankHybrid({ ids, visual, text: [], words: ["red"] });
    expect(ranked.map((r) => [r.id, r.reasons])).toEqual([["a", ["visual"]]]);
  });

  it("adds caption and chat matches, and both reasons when both hold", () => {
    const ranked = rankHybrid({
      ids,
      visual,
      words: ["red", "circle"],
      text: [
        { id: "a", bm25: -2, captionWords: ["red", "circle"], chatWords: [] },
        { id: "c", bm25: -4, captionWords: [], chatWords: ["red", "circles"] },
      ],
    });
    expect(ranked.map((r) => [r.id, r.reasons])).toEqual([
      ["a", ["visual", "caption"]],
      ["c", ["chat"]],
    ]);
  });

  it("counts a text that names only some of the words as a partial match, never a reason", () => {
    const ranked = rankHybrid({
      ids,
      visual,
      words: ["red", "circle"],
      text: [{ id: "b", bm25: -5, captionWords: ["circle"], chatWords: [] }],
    });
    // b (a yellow circle, say) stays below the visual match and has no reason of its own.
    expect(ranked.map((r) => r.id)).toEqual(["a"]);
  });

  it("ranks a text with the query's words in its order above one with them swapped", () => {
    const ranked = rankHybrid({
      ids: [],
      visual: new Float32Array(),
      words: ["red", "circle", "blue", "square"],
      visualWeight: 0,
      text: [
        { id: "swapped", bm25: -3, captionWords: ["blue", "square", "red", "circle"], chatWords: [] },
        { id: "ordered", bm25: -3, captionWords: ["red", "circle", "blue", "square"], chatWords: [] },
      ],
    });
    expect(ranked.map((r) => r.id)).toEqual(["ordered", "swapped"]);
  });
});

describe("query forms", () => {
  it("quotes every word for FTS5 and drops stopwords", () => {
    expect(queryWords('The "red" circle OR NEAR(x)')).toEqual(["red", "circle", "near", "x"]);
    expect(toFtsQuery(queryWords("a red circle"))).toBe('"red"* OR "circle"*');
    expect(toFtsQuery(queryWords("a the of"))).toBeNull();
  });

  it("turns keywords into a caption-like sentence for CLIP", () => {
    expect(toClipPrompt("red circle")).toBe("A red circle.");
    expect(toClipPrompt("an orange square.")).toBe("An orange square.");
    expect(toClipPrompt("orange")).toBe("An orange.");
  });
});
