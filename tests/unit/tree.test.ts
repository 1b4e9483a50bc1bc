import { describe, expect, it } from "vitest";
import { activePath, allBranchKeys, branchKey, newestLeaf, versionsOnPath, type TreeNode } from "@/lib/chat/tree";

// q1 → a1 → q2 → a2, then q2 edited (q2b → a2b), then a2b regenerated (a2c).
let clock = 0;
const node = (id: string, parentId: string | null): TreeNode => ({ id, parentId, createdAt: new Date(1_000 + clock++) });
const nodes = [node("q1", null), node("a1", "q1"), node("q2", "a1"), node("a2", "q2"), node("q2b", "a1"), node("a2b", "q2b"), node("a2c", "q2b")];
const ids = (list: TreeNode[]) => list.map((n) => n.id);

describe("the message tree", () => {
  it("shows the branch of the active leaf, or of the newest message", () => {
    expect(ids(activePath(nodes, "a2"))).toEqual(["q1", "a1", "q2", "a2"]);
    expect(ids(activePath(nodes, null))).toEqual(["q1", "a1", "q2b", "a2c"]);
    expect(ids(activePath(nodes, "gone"))).toEqual(["q1", "a1", "q2b", "a2c"]);
    expect(activePath([], null)).toEqual([]);
  });

  it("switching to a version follows its newest descendants", () => {
    expect(newestLeaf(nodes, "q2")!.id).toBe("a2");
    expect(newestLeaf(nodes, "q2b")!.id).toBe("a2c");
    expect(newestLeaf(nodes, "a1")!.id).toBe("a2c");
  });

  it("numbers each message among its siblings, oldest first", () => {
    const versions = versionsOnPath(nodes, activePath(nodes, "a2b"));
    expect(versions.get("q1")).toEqual({ ids: ["q1"], index: 0 });
    expect(versions.get("q2b")).toEqual({ ids: ["q2", "q2b"], index: 1 });
    expect(versions.get("a2b")).toEqual({ ids: ["a2b", "a2c"], index: 0 });
  });

  it("gives each branch its own engine cache key, stable while the branch grows", () => {
    expect(branchKey("c", nodes, activePath(nodes, "a2"))).toBe("c");
    expect(branchKey("c", nodes, activePath(nodes, "a2b"))).toBe("c~q2b");
    expect(branchKey("c", nodes, activePath(nodes, "a2c"))).toBe("c~a2c");
    // A new question after a2 keeps the original branch's key.
    const grown = [...nodes, node("q3", "a2")];
    expect(branchKey("c", grown, activePath(grown, "q3"))).toBe("c");
    expect(allBranchKeys("c", nodes).sort()).toEqual(["c", "c~a2c", "c~q2b"]);
  });
});
